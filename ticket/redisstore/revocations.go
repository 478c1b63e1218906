package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
)

var _ ticket.Revocations = (*Store)(nil)

// revocationTag is the hash tag every revocation key carries, so that on
// Redis Cluster they share one slot and Check reads them in one script.
const revocationTag = "{revocations}:"

// revocationKeys names the keys of the revocation list:
//
//	<prefix>{revocations}:since          the marker: when the list started, Unix ms
//	<prefix>{revocations}:run            the run_id of the server it started on
//	<prefix>{revocations}:id:<hex key>   a revoked ID, for as long as PX said
//	<prefix>{revocations}:sub:<hex hash> a subject's latest revocation, Unix ms
type revocationKeys struct {
	marker, run, id, sub string // the marker and run keys, and the prefixes of the others
}

func newRevocationKeys(prefix string) revocationKeys {
	p := prefix + revocationTag
	return revocationKeys{marker: p + "since", run: p + "run", id: p + "id:", sub: p + "sub:"}
}

func (k revocationKeys) idKey(key ticket.Key) string { return k.id + key.String() }

// subKey hashes the subject: a subject is not secret, but a key of it
// would be as long as it is.
func (k revocationKeys) subKey(subject string) string {
	h := sha256.Sum256([]byte(subject))
	return k.sub + hex.EncodeToString(h[:])
}

// revocationScript is the script of the revocation list. KEYS[1] is
// always the marker and KEYS[2] the run key; ARGV[1] names the operation;
// the last ARGV is '1' for Options.TrustRestarts. A script runs alone on
// the server, so reading the marker and writing it when missing (SET NX,
// in effect) cannot interleave with anything.
//
//	check: KEYS[3] the subject's key, KEYS[4] and KEYS[5] the IDs'; ARGV[2],
//	       ARGV[3] and ARGV[4] are '1' to read them. It returns {since,
//	       denied (0 or 1), subject revocation time or 0}.
//	id:    KEYS[3] the ID's key; ARGV[2] how long it is refused, ms, by the
//	       node's clock. It keeps the longer of two, and returns the
//	       replica count.
//	sub:   KEYS[3] the subject's key; ARGV[2] the revocation time, Unix ms,
//	       and ARGV[3] how long it is kept, ms, by the node's clock. It
//	       keeps the later of two times, and returns the replica count.
var revocationScript = redis.NewScript(`
local corrupt = 'ERR wsauth: revocation record is not a time'
-- runid returns the server's run_id (nil where INFO has no server
-- section, as in miniredis): it changes when the server restarts, and is
-- another server's after a failover.
local function runid()
  local info = redis.pcall('INFO', 'server')
  if type(info) ~= 'string' then
    return nil
  end
  return string.match(info, 'run_id:(%x+)')
end
-- since returns the marker's time, or nil if it is corrupt. It writes the
-- server's time, rounded up to the millisecond, if the marker is missing
-- (a list that starts now), or if the list started in another run of the
-- server (unless restarts are trusted): the server may hold an older state
-- than the one the nodes were told of, as after a restart from a
-- snapshot, and the list starts again, never earlier than it did.
local function since()
  local v = redis.call('GET', KEYS[1])
  local old
  if v then
    old = tonumber(v)
    if not old then
      return nil
    end
  end
  local id
  if ARGV[#ARGV] ~= '1' then
    id = runid()
  end
  if old and (not id or redis.call('GET', KEYS[2]) == id) then
    return old
  end
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
  if old and old > ms then
    ms = old
  end
  redis.call('SET', KEYS[1], string.format('%.0f', ms))
  if id then
    redis.call('SET', KEYS[2], id)
  end
  return ms
end
-- replicas returns how many replicas are online: those WAIT counts, not
-- those still in their first sync (0 where INFO has no replication
-- section, as in miniredis).
local function replicas()
  local info = redis.pcall('INFO', 'replication')
  if type(info) ~= 'string' then
    return 0
  end
  local n = 0
  for _ in string.gmatch(info, 'slave%d+:[^\r\n]*state=online') do
    n = n + 1
  end
  return n
end

local s = since()
if not s then
  return redis.error_reply(corrupt)
end
local op = ARGV[1]
if op == 'id' then
  local ttl = tonumber(ARGV[2])
  local cur = redis.call('PTTL', KEYS[3])
  if cur == -2 or (cur >= 0 and cur < ttl) then
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
  end
  return replicas()
elseif op == 'sub' then
  local at = tonumber(ARGV[2])
  local cur = tonumber(redis.call('GET', KEYS[3]) or 0)
  if not cur or at > cur then
    redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
  end
  return replicas()
end
local revoked = 0
if ARGV[2] == '1' then
  local v = redis.call('GET', KEYS[3])
  if v then
    revoked = tonumber(v)
    if not revoked then
      return redis.error_reply(corrupt)
    end
  end
end
local denied = 0
for i = 3, 4 do
  if denied == 0 and ARGV[i] == '1' then
    denied = redis.call('EXISTS', KEYS[i + 1])
  end
end
return {s, denied, revoked}
`)

// errNoSubject is returned by RevokeSubject for the empty subject.
var errNoSubject = errors.New("redisstore: revoke subject: empty subject")

// RevokeID refuses the credential ID under key until until, as
// ticket.Revocations asks, with one script that writes SET <prefix>
// {revocations}:id:<hex key> 1 PX <until − now in ms, rounded up> unless
// the key already lasts longer; Redis drops it when it lapses. How long
// is Options.Now's say, the clock the credential's expiry is checked by,
// not the Redis server's, which may run ahead. An until already past
// writes nothing. If the primary has replicas, a WAIT 1 follows on the
// same connection (see Options.ReplicaTimeout). Errors wrap
// ticket.ErrStoreUnavailable.
func (s *Store) RevokeID(ctx context.Context, key ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("revoke id", err)
	}
	ttl := ceilDuration(until.Sub(s.now()))
	if ttl <= 0 {
		return nil // past
	}
	return s.revoke(ctx, "revoke id", []string{s.rev.marker, s.rev.run, s.rev.idKey(key)}, "id", ttl)
}

// RevokeSubject refuses every credential of subject issued at or before
// at, as ticket.Revocations asks, with one script that writes SET <prefix>
// {revocations}:sub:<hex SHA-256 of subject> <at in Unix ms, rounded up>
// PX <until at plus Options.RevocationLifetime, by Options.Now>
// unless the key holds a later time. If the primary has replicas, a WAIT
// 1 follows on the same connection. The empty subject is an error; other
// errors wrap ticket.ErrStoreUnavailable.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("revoke subject", err)
	}
	if subject == "" {
		return errNoSubject
	}
	ttl := ceilDuration(at.Add(s.lifetime).Sub(s.now()))
	if ttl <= 0 {
		return nil // past
	}
	return s.revoke(ctx, "revoke subject", []string{s.rev.marker, s.rev.run, s.rev.subKey(subject)}, "sub", ceilMilli(at), ttl)
}

// Check reports what Redis knows of the credential with IDs keys and
// subject, as ticket.Revocations asks, with one script (EVALSHA; EVAL
// once per server, when it does not know the script yet): it reads the
// marker, the IDs' keys and the subject's key, and writes the marker with
// the server's time if it is missing, or if the list started in another
// run of the server (see the package doc), which makes Since that time.
// Errors,
// and a marker or record that is not a time, wrap
// ticket.ErrStoreUnavailable.
func (s *Store) Check(ctx context.Context, keys [2]ticket.Key, subject string) (ticket.Status, error) {
	if err := ctx.Err(); err != nil {
		return ticket.Status{}, unavailable("check", err)
	}
	// A key the script does not read is named by the marker (same hash
	// slot), not built.
	names := []string{s.rev.marker, s.rev.run, s.rev.marker, s.rev.marker, s.rev.marker}
	if subject != "" {
		names[2] = s.rev.subKey(subject)
	}
	for i, k := range keys {
		if k != (ticket.Key{}) {
			names[3+i] = s.rev.idKey(k)
		}
	}
	res, err := s.run(ctx, s.client, names, "check", flag(subject != ""), flag(keys[0] != ticket.Key{}), flag(keys[1] != ticket.Key{})).Int64Slice()
	if err != nil {
		return ticket.Status{}, unavailable("check", err)
	}
	if len(res) != 3 {
		return ticket.Status{}, unavailable("check", fmt.Errorf("script returned %d values, want 3", len(res)))
	}
	st := ticket.Status{Denied: res[1] == 1, Since: time.UnixMilli(res[0])}
	if res[2] > 0 {
		st.SubjectRevoked = time.UnixMilli(res[2])
	}
	return st, nil
}

// flag is a script argument: "1" for true.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// run runs revocationScript on sc (EVALSHA; EVAL once per server, when it
// does not know the script yet), with args and Options.TrustRestarts.
func (s *Store) run(ctx context.Context, sc redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return revocationScript.Run(ctx, sc, keys, append(args, flag(s.trustRestarts))...)
}

// ceilDuration returns d in milliseconds, rounded up.
func ceilDuration(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d > 0 && d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// ceilMilli returns t in Unix milliseconds, rounded up: a revocation kept
// a fraction of a millisecond long refuses rather than accepts.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
