package wsauth

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// FuzzStripQuery: whatever the query, the parameter is gone from the URL
// and the RequestURI afterwards; a query url.ParseQuery accepts keeps all
// its other parameters.
func FuzzStripQuery(f *testing.F) {
	for _, s := range []string{"ticket=T", "a=1&ticket=T&b=2", "%74icket=T", "ticket=%zz&a=1", "a=1;ticket=T", "ticket", "&&ticket=T&&", "tick%zzet=T", "a=%20b&ticket=T&ticket=U"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		const name = "ticket"
		u := &url.URL{Path: "/ws", RawQuery: raw}
		r := &http.Request{URL: u, RequestURI: u.RequestURI()}
		before, berr := url.ParseQuery(raw)
		stripQuery(r, name)
		after, aerr := url.ParseQuery(r.URL.RawQuery)
		if _, ok := after[name]; ok {
			t.Fatalf("%q: parameter left in %q", raw, r.URL.RawQuery)
		}
		if r.RequestURI != r.URL.RequestURI() {
			t.Fatalf("%q: RequestURI %q, URL %q", raw, r.RequestURI, r.URL.RequestURI())
		}
		if berr == nil {
			delete(before, name)
			if aerr != nil || !reflect.DeepEqual(before, after) && len(before)+len(after) > 0 {
				t.Fatalf("%q: kept %v (%v), want %v", raw, after, aerr, before)
			}
		}
	})
}
