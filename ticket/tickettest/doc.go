// Package tickettest checks that a [ticket.Store] keeps the Store contract,
// and the [ticket.Revocations] contract if it has that capability, and
// provides a fake [Clock] to drive time in tests.
//
// A store author runs the whole conformance suite from one test, the way
// testing/fstest.TestFS checks a file system:
//
//	func TestConformance(t *testing.T) {
//		tickettest.TestStore(t, tickettest.Harness{
//			NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
//				return mystore.New(mystore.Options{Now: clock.Now})
//			},
//		})
//	}
//
// A store that also implements [ticket.Revocations] runs [TestRevocations]
// with the same kind of Harness, plus a [Harness.Wipe] that makes it lose
// its data, so that the suite can check it then refuses what it may have
// forgotten:
//
//	func TestRevocationsConformance(t *testing.T) {
//		tickettest.TestRevocations(t, tickettest.Harness{
//			NewStore: …,
//			Wipe: func(t *testing.T, _ *tickettest.Clock, s ticket.Store) ticket.Store {
//				s.(*mystore.Store).FlushAll()
//				return s
//			},
//		})
//	}
//
// Stores whose expiry runs on a server's clock either follow the fake clock
// through [Clock.OnAdvance] (miniredis's FastForward) or set
// [Harness.RealTime] (a real redis-server).
package tickettest
