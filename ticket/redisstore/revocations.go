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
//	<prefix>{revocations}:id:<hex key>   a revoked ID, until its PXAT
//	<prefix>{revocations}:sub:<hex hash> a subject's latest revocation, Unix ms
type revocationKeys struct {
	marker, id, sub string // the marker, and the prefixes of the others
}

func newRevocationKeys(prefix string) revocationKeys {
	p := prefix + revocationTag
	return revocationKeys{marker: p + "since", id: p + "id:", sub: p + "sub:"}
}

func (k revocationKeys) idKey(key ticket.Key) string { return k.id + key.String() }

// subKey hashes the subject: a subject is not secret, but a key of it
// would be as long as it is.
func (k revocationKeys) subKey(subject string) string {
	h := sha256.Sum256([]byte(subject))
	return k.sub + hex.EncodeToString(h[:])
}

// scriptPrelude is shared by the scripts: KEYS[1] is always the marker.
// A script runs alone on the server, so reading the marker and writing it
// when missing (SET NX, in effect) cannot interleave with anything.
const scriptPrelude = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- since returns the marker's time, writing the server's time, rounded up
-- to the millisecond, if the marker is missing: a list that starts now.
local function since()
  local v = redis.call('GET', KEYS[1])
  if v then
    return tonumber(v)
  end
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
  redis.call('SET', KEYS[1], string.format('%.0f', ms))
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
local corrupt = 'ERR wsauth: revocation record is not a time'
`

// revokeIDScript: KEYS[2] is the ID's key; ARGV[1] the until time, Unix
// ms. It keeps the later of two times and returns the replica count.
var revokeIDScript = redis.NewScript(scriptPrelude + `
if not since() then
  return redis.error_reply(corrupt)
end
local untilMs = tonumber(ARGV[1])
local t = now()
if untilMs > t then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl == -2 or (ttl >= 0 and t + ttl < untilMs) then
    redis.call('SET', KEYS[2], '1', 'PXAT', ARGV[1])
  end
end
return replicas()
`)

// revokeSubjectScript: KEYS[2] is the subject's key; ARGV[1] the
// revocation time and ARGV[2] its end, Unix ms. It keeps the later of two
// times and returns the replica count.
var revokeSubjectScript = redis.NewScript(scriptPrelude + `
if not since() then
  return redis.error_reply(corrupt)
end
local at, ends = tonumber(ARGV[1]), tonumber(ARGV[2])
if ends > now() then
  local cur = tonumber(redis.call('GET', KEYS[2]) or 0)
  if not cur or at > cur then
    redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[2])
  end
end
return replicas()
`)

// checkScript: KEYS[2] is the subject's key, KEYS[3] and KEYS[4] the IDs';
// ARGV[1], ARGV[2] and ARGV[3] are '1' to read them. It returns {since,
// denied (0 or 1), subject revocation time or 0}.
var checkScript = redis.NewScript(scriptPrelude + `
local s = since()
if not s then
  return redis.error_reply(corrupt)
end
local revoked = 0
if ARGV[1] == '1' then
  local v = redis.call('GET', KEYS[2])
  if v then
    revoked = tonumber(v)
    if not revoked then
      return redis.error_reply(corrupt)
    end
  end
end
local denied = 0
for i = 2, 3 do
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
// {revocations}:id:<hex key> 1 PXAT <until in Unix ms, rounded up> unless
// the key already lasts longer; Redis drops it when it lapses. The
// deadline is absolute: it relies on the Redis server's clock. If the
// primary has replicas, a WAIT 1 follows on the same connection (see
// Options.ReplicaTimeout). Errors wrap ticket.ErrStoreUnavailable.
func (s *Store) RevokeID(ctx context.Context, key ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("revoke id", err)
	}
	ms := ceilMilli(until)
	if ms <= 0 {
		return nil // long past
	}
	return s.revoke(ctx, "revoke id", revokeIDScript, []string{s.rev.marker, s.rev.idKey(key)}, ms)
}

// RevokeSubject refuses every credential of subject issued at or before
// at, as ticket.Revocations asks, with one script that writes SET <prefix>
// {revocations}:sub:<hex SHA-256 of subject> <at in Unix ms, rounded up>
// PXAT <that plus Options.RevocationLifetime> unless the key holds a later
// time. If the primary has replicas, a WAIT 1 follows on the same
// connection. The empty subject is an error; other errors wrap
// ticket.ErrStoreUnavailable.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("revoke subject", err)
	}
	if subject == "" {
		return errNoSubject
	}
	ms := ceilMilli(at)
	ends := ms + s.lifetime.Milliseconds()
	if ends <= 0 {
		return nil // long past
	}
	return s.revoke(ctx, "revoke subject", revokeSubjectScript, []string{s.rev.marker, s.rev.subKey(subject)}, ms, ends)
}

// Check reports what Redis knows of the credential with IDs keys and
// subject, as ticket.Revocations asks, with one script (EVALSHA; EVAL
// once per server, when it does not know the script yet): it reads the
// marker, the IDs' keys and the subject's key, and writes the marker with
// the server's time if it is missing, which makes Since that time. Errors,
// and a marker or record that is not a time, wrap
// ticket.ErrStoreUnavailable.
func (s *Store) Check(ctx context.Context, keys [2]ticket.Key, subject string) (ticket.Status, error) {
	if err := ctx.Err(); err != nil {
		return ticket.Status{}, unavailable("check", err)
	}
	// A key the script does not read is named by the marker (same hash
	// slot), not built.
	names := []string{s.rev.marker, s.rev.marker, s.rev.marker, s.rev.marker}
	if subject != "" {
		names[1] = s.rev.subKey(subject)
	}
	for i, k := range keys {
		if k != (ticket.Key{}) {
			names[2+i] = s.rev.idKey(k)
		}
	}
	res, err := checkScript.Run(ctx, s.client, names, flag(subject != ""), flag(keys[0] != ticket.Key{}), flag(keys[1] != ticket.Key{})).Int64Slice()
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

// ceilMilli returns t in Unix milliseconds, rounded up: a revocation kept
// a fraction of a millisecond long refuses rather than accepts.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
