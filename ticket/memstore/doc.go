// Package memstore is the in-process [ticket.Store]: the default when a
// single server issues and redeems its own tickets. It uses the standard
// library only.
//
// Entries live in a fixed number of shards, each a mutex and a map, chosen by
// the key's first byte (a SHA-256, so spread evenly), so concurrent Puts and
// Takes rarely wait on each other.
//
// Expired entries are purged without a goroutine: Take drops what it finds
// expired, and each shard sweeps itself during a Put at most once per
// [Options.SweepInterval]. A Store therefore needs no Close and can simply be
// dropped. It holds at most the tickets put in the last SweepInterval plus
// the longest TTL, and then gives the memory back.
//
// A Store keeps the Scope slice and Metadata map of a ticket as given, without
// copying them: do not modify them after Put. Take hands them over to its
// caller, who may then do as it likes.
//
// # Revocations
//
// A Store is also a [ticket.Revocations], in the same process only: revoked
// IDs until their time, and subjects for [Options.RevocationLifetime]. One
// lock covers both, so that a Check is one consistent reading; lapsed
// revocations are purged during revocations, at most once per
// SweepInterval, like tickets.
//
// A process that restarts starts a new, empty Store, and the revocations
// are gone. So [ticket.Status.Since] is the Store's creation, and every
// credential issued before it, revoked or not, is refused: after a restart,
// everyone logs in again. Where that is not acceptable, or more than one
// process serves, use a shared store (redisstore) instead.
package memstore
