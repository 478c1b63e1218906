// Package tickettest checks that a [ticket.Store] keeps the Store contract,
// and provides a fake [Clock] to drive time in tests.
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
// Stores whose expiry runs on a server's clock either follow the fake clock
// through [Clock.OnAdvance] (miniredis's FastForward) or set
// [Harness.RealTime] (a real redis-server).
package tickettest
