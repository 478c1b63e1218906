package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wsauth/wsauth/ticket"
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
	session, sessionExp, err := s.tokens.mintSession(req.Username)
	if err != nil {
		s.log.Printf("login: %v", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    session,
		Path:     "/",
		Expires:  sessionExp,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	s.log.Printf("%s logged in", req.Username)
	s.writeAccessToken(w, req.Username)
}

// token returns a fresh access token for the session's user, so a page can
// keep a /ws/jwt connection alive past the first token's expiry.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	user, err := s.sessionUser(r)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	s.writeAccessToken(w, user)
}

func (s *server) writeAccessToken(w http.ResponseWriter, user string) {
	tok, exp, err := s.tokens.mintAccess(user)
	if err != nil {
		s.log.Printf("access token: %v", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, tokenResponse{AccessToken: tok, ExpiresAt: exp})
}

// logout clears the session cookie. Tokens already issued stay valid
// until they expire.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

// sessionUser returns the user of r's session cookie.
func (s *server) sessionUser(r *http.Request) (string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", err
	}
	return s.tokens.sessionUser(r.Context(), c.Value)
}

// identify tells the ticket Issuer who is asking, and for which room:
// the session cookie and {"room":…}. A ticket is scoped to its room, so
// it opens no other; a request without a room gets 403.
func (s *server) identify(r *http.Request) (ticket.Ticket, error) {
	user, err := s.sessionUser(r)
	if err != nil {
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
	// ticket for a room the user may not enter opens nothing (4403).
	return ticket.Ticket{Subject: user, Scope: []string{req.Room}}, nil
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
