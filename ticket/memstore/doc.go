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
package memstore
