// Package transport is where a WebSocket credential rides: it extracts and
// parses credentials on the server and attaches them on the client.
//
// Browsers cannot set an Authorization header on a WebSocket, so a
// credential travels in one of four carriers that browsers can use, or in
// two more for clients that can set headers or already hold a session
// cookie. This package knows only the wire formats; deciding whether a
// credential is any good is the job of the wsauth package, which builds on
// this one.
//
// # Wire formats
//
//	carrier        client sends                                      server side          client side
//	-------------  ------------------------------------------------  -------------------  ---------------------
//	query          wss://host/ws?ticket=T                            FromQuery            WithQuery
//	                                                                                      DialQuery
//	subprotocol    Sec-WebSocket-Protocol: <app>, wsauth.bearer.<B>  FromSubprotocol      SubprotocolOffer
//	                                                                                      DialSubprotocol
//	header         Authorization: Bearer T  (not from browsers)      FromAuthorization    DialHeader
//	cookie         Cookie: <name>=T  (sent by the browser itself)    FromCookie           -
//	first message  text {"type":"auth","token":T}                    ParseControl         AppendControl
//	                                                                                      DialFirstMessage
//	  reply        text {"type":"auth_ok","subject":S,               AuthOK.MarshalJSON   AuthOK.UnmarshalJSON
//	                     "expires_at":"2006-01-02T15:04:05Z"}
//	  notice       text {"type":"expiring","in":N}                   Expiring.MarshalJSON Expiring.UnmarshalJSON
//	  refresh      text {"type":"refresh","token":T}                 ParseControl         Refresh
//	per message    text {"token":T,"data":<any JSON value>}          ParseEnvelope        AppendEnvelope
//	                                                                                      DialPerMessage
//	                                                                                      TokenConn.Write
//	               binary  N uint16 big endian | N bytes token |     ParseBinaryEnvelope  AppendBinaryEnvelope
//	                       payload                                                        TokenConn.WriteBinary
//
// A wsauth server answers the first frame of a connection in band (first
// message, and the first envelope of a per-message one) with auth_ok, or
// closes with a code; so does it after the 101 for the handshake carriers
// in its InBand mode. Connections that speak in band are warned N seconds
// before their credential expires, and refresh with a refresh frame,
// answered with auth_ok; on a per-message connection the refresh frame is
// also the keep-alive of a client with no data to send: it is never
// delivered as data.
//
// # Close codes
//
// After the upgrade a refusal is a close code (the graphql-ws convention):
// CloseMalformed 4400, CloseUnauthenticated 4401 (get a new credential),
// CloseForbidden 4403 (do not retry), CloseAuthTimeout 4408,
// CloseTooManyAttempts 4429 (wait); 1009 for an auth frame over the read
// limit and 1011 when authentication is unavailable.
//
// In the subprotocol carrier B is the credential in base64url without
// padding (RFC 4648 section 5). A client with no application protocol of its
// own offers DefaultSubprotocol ("wsauth"), and the server must echo an
// application protocol, never the credential entry: a browser fails a
// connection whose server selects nothing it offered. expires_at in auth_ok
// is RFC 3339 and left out when the credential does not expire.
//
// # Credentials
//
// A credential is 1 to MaxCredentialLen (8 KiB) bytes of visible ASCII
// other than '"' and '\'. Tickets (base64url) and JWTs (base64url and dots)
// qualify, and such a credential needs no escaping in any carrier, so every
// carrier can carry every credential. The JSON parsers therefore reject a
// token written with escapes instead of unescaping it.
//
// # Errors
//
// Parsers fail with errors wrapping ErrNoCredential (nothing there) or
// ErrMalformed (something there, but wrong). No error string in this package
// contains a credential, a header value or frame bytes: they may be logged.
// The Dial helpers redact the credential from lower-layer errors too.
//
// # Dialing from Go
//
// DialQuery, DialSubprotocol, DialHeader, DialFirstMessage and
// DialPerMessage take options exactly as websocket.Dial does: nil works,
// and the caller's DialOptions (and the header and slices in it) are never
// modified. They follow no redirect, as browsers follow none on a
// WebSocket handshake: a 3xx answer is an error, returned with the
// response where the helper returns one, so no credential is sent on to
// where a redirect points. Their errors never contain
// the credential, even where a lower layer quotes the URL (net/http does);
// the original error stays reachable through errors.Is, errors.As and
// errors.Unwrap, so do not log unwrapped causes. TokenConn writes
// per-message envelopes and lets another goroutine swap the token.
//
// # Performance
//
// ParseEnvelope runs on every frame in per-message mode. It walks the
// top-level object by hand, validates member values with a validator of
// its own, and returns data aliasing its input, so it allocates only the
// token string. It agrees with encoding/json on which inputs are valid
// JSON (fuzz targets hold it to json.Valid).
//
// # Dialing from JavaScript
//
// Package transport/js holds the browser and Node client of this wire
// format, @wsauth/client, and serves it to pages.
package transport
