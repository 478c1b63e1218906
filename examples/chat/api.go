package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/wsauth"
)

// sessionCookie holds the session token.
const sessionCookie = "chat_session"

// maxAPIBody bounds the JSON bodies of the API.
const maxAPIBody = 4 << 10

type tokenResponse struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// login checks {"username","password"}, sets the session cookie and
// returns an access token.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "expected {\"username\":…,\"password\":…}")
		return
	}
	if !checkPassword(req.Username, req.Password) {
		s.log.Printf("login refused") // no name: it may be a mistyped password
		writeError(w, http.StatusUnauthorized, "invalid username or password")
		return
	}
	cookie, sess, err := s.tokens.mintSession(req.Username)
	if err != nil {
		s.log.Printf("login: %v", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    cookie,
		Path:     "/",
		Expires:  sess.exp,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	s.log.Printf("%s logged in", req.Username)
	s.writeAccessToken(w, sess)
}

// token returns a fresh access token for the session's user: the page
// calls it when a connection says {"type":"expiring"}, and after a reload.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	sess, err := s.sessionOf(r)
	if err != nil {
		s.writeSessionError(w, err)
		return
	}
	s.writeAccessToken(w, sess)
}

func (s *server) writeAccessToken(w http.ResponseWriter, sess sessionToken) {
	tok, exp, err := s.tokens.mintAccess(sess)
	if err != nil {
		s.log.Printf("access token: %v", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, tokenResponse{AccessToken: tok, ExpiresAt: exp})
}

// logoutReason is the close reason of the connections a logout ends.
const logoutReason = "logged out"

// logout ends the session of the cookie: it revokes the session's ID
// (wsauth.Registry.RevokeToken), which every credential of the session
// carries as "sid" (access tokens) or metadata (tickets), then clears the
// cookie: from then on the cookie, the session's access tokens and its
// unredeemed tickets are refused on every node sharing the store, and the
// session's WebSockets, on every node, are closed with 4401. The user's
// other sessions go on. A logout that cannot be recorded keeps the cookie,
// so that the page can try again. Without a valid session it only clears
// the cookie.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := s.sessionOf(r)
	switch {
	case errors.Is(err, wsauth.ErrUnavailable):
		s.writeSessionError(w, err)
		return
	case errors.Is(err, wsauth.ErrRevoked):
		// Logged out already: revoked again, so that a logout recorded
		// whose announcement to the other nodes failed (503) reaches
		// them when the page tries again.
	case err != nil:
		clearSession(w, r)
		w.WriteHeader(http.StatusNoContent) // nothing to end
		return
	}
	// The ID is denied until the last credential carrying it has expired:
	// an access token or a ticket minted just before the session's end
	// outlives it by its TTL. (The page may send its access token along;
	// the session's ID covers it, so the body is not needed.)
	until := sess.exp.Add(max(s.cfg.TokenTTL, s.cfg.TicketTTL))
	if err := s.reg.RevokeToken(r.Context(), sess.id, until, logoutReason); err != nil {
		// The connections here are closed regardless; the page may try
		// again, with the cookie it still has.
		s.log.Printf("logout %s: %v", sess.user, err)
		writeError(w, http.StatusServiceUnavailable, "logout unavailable, try again")
		return
	}
	s.log.Printf("%s logged out", sess.user)
	clearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// clearSession tells the browser to drop the session cookie.
func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// sessionOf returns the session of r's cookie, if it is valid and has
// not been revoked. Errors wrap wsauth.ErrUnavailable when the store's
// revocations cannot be consulted, and wsauth.ErrRevoked after a logout:
// then the session is returned too, for logout to announce it again.
func (s *server) sessionOf(r *http.Request) (sessionToken, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return sessionToken{}, err
	}
	sess, err := s.tokens.checkSession(r.Context(), c.Value)
	if err != nil {
		return sessionToken{}, err
	}
	st, err := s.revs.Check(r.Context(), [2]ticket.Key{ticket.DenyKey(sess.id)}, sess.user)
	switch {
	case err != nil:
		return sessionToken{}, fmt.Errorf("%w: revocations: %w", wsauth.ErrUnavailable, err)
	case st.Refuses(sess.iat):
		return sess, fmt.Errorf("%w: logged out", wsauth.ErrRevoked)
	}
	return sess, nil
}

// writeSessionError answers a request whose session does not check out:
// 503 if that could not be decided, else 401.
func (s *server) writeSessionError(w http.ResponseWriter, err error) {
	if errors.Is(err, wsauth.ErrUnavailable) {
		s.log.Printf("session: %v", err)
		writeError(w, http.StatusServiceUnavailable, "sessions unavailable, try again")
		return
	}
	writeError(w, http.StatusUnauthorized, "not logged in")
}

// sessionKey carries the checked session of a /api/tickets request from
// withSession to identify.
type sessionKey struct{}

// withSession checks the session cookie before h runs (401 without a
// session or after logout, 503 if the deny list cannot be consulted) and
// hands the session on in the request's context.
func (s *server) withSession(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.sessionOf(r)
		if err != nil {
			s.writeSessionError(w, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// identify tells the ticket Issuer who is asking, and for which room:
// the session (checked by withSession) and {"room":…}. A ticket is scoped
// to its room, so it opens no other; a request without a room gets 403.
func (s *server) identify(r *http.Request) (ticket.Ticket, error) {
	sess, ok := r.Context().Value(sessionKey{}).(sessionToken)
	if !ok {
		return ticket.Ticket{}, errors.New("no session")
	}
	var req struct {
		Room string `json:"room"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Room == "" {
		return ticket.Ticket{}, fmt.Errorf("%w: no room", ticket.ErrForbidden)
	}
	// Room membership is not checked here but by the WebSocket endpoints'
	// Authorizer, the one place that decides it for every strategy: a
	// ticket for a room the user may not enter opens nothing (4403). The
	// session's ID goes with the ticket, so that a logout revokes it.
	return ticket.Ticket{Subject: sess.user, Scope: []string{req.Room}, Metadata: map[string]string{"sid": sess.id}}, nil
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody)).Decode(v)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
