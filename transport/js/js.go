// Package js holds wsauth's JavaScript client, the npm package
// @wsauth/client in this directory (an ES module, wsauth.js, documented
// in README.md), and serves it to browsers.
//
// A Go server hands the client to its pages from its own origin, with no
// build step and no CDN, which a Content-Security-Policy allowing scripts
// from 'self' only permits:
//
//	mux.Handle("GET /wsauth.js", js.Handler())
//
// and in the page:
//
//	import { WsauthClient } from '/wsauth.js';
package js

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"time"
)

// Module is the name of the client module in FS.
const Module = "wsauth.js"

// FS holds the client module (Module) and its TypeScript declarations,
// wsauth.d.ts.
//
//go:embed wsauth.js wsauth.d.ts
var FS embed.FS

// module and etag are Module's bytes and their entity tag.
var module, etag = func() ([]byte, string) {
	b, err := FS.ReadFile(Module)
	if err != nil {
		panic(err) // the embed directive guarantees the file
	}
	sum := sha256.Sum256(b)
	return b, `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}()

// Handler returns a handler that serves the client module at whatever
// path it is mounted on, to GET and HEAD requests, as text/javascript with
// an ETag and Cache-Control: no-cache (browsers revalidate it, and get a
// new version as soon as the server has one). Other methods get 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		http.ServeContent(w, r, Module, time.Time{}, bytes.NewReader(module))
	})
}
