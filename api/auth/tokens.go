package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/daemon/config"
)

// Tokens are the configured API tokens. The zero value (or nil) knows no
// token: every protected route answers 401.
type Tokens struct {
	entries []entry
	log     *slog.Logger

	refused atomic.Uint64 // unauthenticated requests refused
	mu      sync.Mutex
	logged  time.Time // the last line about them
	quiet   uint64    // refused since that line
}

// refusedEvery is how often at most a line about refused requests is
// logged; the ones between are counted in the next.
const refusedEvery = time.Minute

// Refused is the number of requests refused for a missing or unknown
// token since the start.
func (t *Tokens) Refused() uint64 {
	if t == nil {
		return 0
	}
	return t.refused.Load()
}

type entry struct {
	sum [sha256.Size]byte
	p   Principal
}

// New resolves each spec's secret (inline, environment or file) and keeps
// its SHA-256. Warnings (an inline token, a world-readable token file)
// go to log; an unusable spec is an error naming http.tokens[i]. log also
// gets refused requests (never their tokens); nil discards.
func New(specs []config.TokenSpec, log *slog.Logger) (*Tokens, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tokens{log: log}
	var errs []error
	for i, s := range specs {
		key := fmt.Sprintf("http.tokens[%d] (%s)", i, s.Name)
		secret, warn, err := s.Secret()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		if warn != "" {
			log.Warn("api token: "+warn, "token", key)
		}
		p := Principal{Name: s.Name}
		for _, name := range s.Roles {
			r, err := ParseRole(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
				continue
			}
			p.Roles = append(p.Roles, r)
		}
		if s.Name == "" || len(p.Roles) == 0 {
			errs = append(errs, fmt.Errorf("%s: needs a name and a role", key))
			continue
		}
		t.entries = append(t.entries, entry{sum: sha256.Sum256([]byte(secret)), p: p})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.entries)
}

// Lookup returns the holder of a token. Every entry is compared, in
// constant time, whatever matches.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	if t == nil || token == "" {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, false
	}
	p := t.entries[found].p
	p.Roles = append([]Role(nil), p.Roles...)
	return p, true
}

// Authenticate returns the principal of a request's bearer token. A
// token in the URL (?token=, ?access_token=) is never looked at.
func (t *Tokens) Authenticate(r *http.Request) (Principal, bool) {
	tok, ok := bearer(r)
	if !ok {
		return Principal{}, false
	}
	return t.Lookup(tok)
}

// Require returns a middleware that lets a request through when its
// bearer token's roles grant p, with the principal in the request's
// context (see From); otherwise it answers 401 (no token, an unknown
// one, or a token in the URL) or 403.
func (t *Tokens) Require(p Permission) func(http.Handler) http.Handler {
	return t.RequireAny(p)
}

// RequireAny is Require for a route that any of ps opens.
func (t *Tokens) RequireAny(ps ...Permission) func(http.Handler) http.Handler {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	need := strings.Join(names, " or ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r)
			if !ok {
				q := r.URL.Query()
				msg := "missing bearer token: send Authorization: Bearer <token>"
				if q.Has("token") || q.Has("access_token") {
					msg = "a token in the URL is not accepted: send it in the Authorization header"
				}
				t.refuse(w, r, http.StatusUnauthorized, `Bearer realm="headend"`, msg)
				return
			}
			pr, ok := t.Lookup(tok)
			if !ok {
				t.refuse(w, r, http.StatusUnauthorized, `Bearer realm="headend", error="invalid_token"`, "unknown token")
				return
			}
			ctx := WithPrincipal(r.Context(), pr)
			for _, p := range ps {
				if pr.Can(p) {
					next.ServeHTTP(w, r.WithContext(ctx))
					return
				}
			}
			t.logger().Warn("api: permission denied", "who", pr.Name, "roles", strings.Join(pr.RoleNames(), ","),
				"need", need, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			WriteError(w, http.StatusForbidden, fmt.Sprintf("forbidden: %s needs permission %s, which roles %s do not grant",
				r.Method+" "+r.URL.Path, need, strings.Join(pr.RoleNames(), ", ")))
		})
	}
}

// refuse answers an unauthenticated request. It logs at most one line a
// minute (refusedEvery), with the count since the last; anyone can send
// these, so they must not fill a disk.
func (t *Tokens) refuse(w http.ResponseWriter, r *http.Request, status int, challenge, msg string) {
	if t != nil {
		total := t.refused.Add(1)
		t.mu.Lock()
		t.quiet++
		var n uint64
		if now := time.Now(); t.logged.IsZero() || now.Sub(t.logged) >= refusedEvery {
			t.logged, n, t.quiet = now, t.quiet, 0
		}
		t.mu.Unlock()
		if n > 0 {
			t.logger().Info("api: unauthenticated requests refused", "refused", n, "refused_total", total,
				"last_reason", msg, "last_method", r.Method, "last_path", r.URL.Path, "last_remote", r.RemoteAddr)
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	WriteError(w, status, msg)
}

func (t *Tokens) logger() *slog.Logger {
	if t == nil || t.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.log
}
