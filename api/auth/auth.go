// Package auth is who may do what on the head-end's HTTP API: bearer
// tokens from the configuration (http.tokens), each naming its holder and
// carrying roles, and the permissions the roles grant.
//
//	role      ReadBilling ReadAll EditReads FieldControl Configure Approve Audit
//	billing        x
//	analyst        x         x        x
//	operator                 x                   x           x
//	admin          x         x        x          x           x              x
//	approver       x         x                                        x
//
// Approver is for the correction workflow: it may approve corrections
// that others proposed. Admin has every permission. A principal may hold
// several roles and has every permission of each.
//
// A request carries its token in the Authorization header only
// ("Authorization: Bearer <token>"): a token in a URL ends up in proxy
// and browser histories, so ?token= is refused everywhere, the dashboard
// included (its page loads without a token; its scripts send the header).
// A missing or unknown token is 401 with WWW-Authenticate: Bearer, a
// known token without the permission 403 naming the permission. Errors
// are JSON, {"error": "..."}.
//
// Tokens are kept in memory only as SHA-256 sums and compared in
// constant time; no token appears in a log line, an error or the audit
// log.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Role is a named set of permissions.
type Role string

// The roles.
const (
	Billing  Role = "billing"  // reads validated data for billing
	Analyst  Role = "analyst"  // reads everything, edits reads
	Operator Role = "operator" // field commands and configuration
	Admin    Role = "admin"    // everything
	Approver Role = "approver" // approves corrections others proposed
)

// Permission is one thing a request may need.
type Permission string

// The permissions.
const (
	ReadBilling  Permission = "read_billing"  // validated reads and billing determinants
	ReadAll      Permission = "read_all"      // everything: raw reads, frames, status, flags
	EditReads    Permission = "edit_reads"    // estimate, edit, propose corrections
	FieldControl Permission = "field_control" // relay commands, on-demand reads, time sync
	Configure    Permission = "configure"     // archive and configuration changes
	Approve      Permission = "approve"       // approve corrections proposed by others
	Audit        Permission = "audit"         // read the audit log
)

var grants = map[Role][]Permission{
	Billing:  {ReadBilling},
	Analyst:  {ReadBilling, ReadAll, EditReads},
	Operator: {ReadAll, FieldControl, Configure},
	Admin:    {ReadBilling, ReadAll, EditReads, FieldControl, Configure, Approve, Audit},
	Approver: {ReadBilling, ReadAll, Approve},
}

// Roles returns every role.
func Roles() []Role { return []Role{Billing, Analyst, Operator, Admin, Approver} }

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := grants[r]; !ok {
		return "", fmt.Errorf("unknown role %q (known: billing, analyst, operator, admin, approver)", s)
	}
	return r, nil
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(grants[r], p) }

// Principal is who made a request: the token's name and roles.
type Principal struct {
	Name  string
	Roles []Role
}

// Can reports whether any of the principal's roles grants p.
func (p Principal) Can(perm Permission) bool {
	for _, r := range p.Roles {
		if r.Can(perm) {
			return true
		}
	}
	return false
}

// RoleNames returns the roles as strings, for messages.
func (p Principal) RoleNames() []string {
	out := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		out[i] = string(r)
	}
	return out
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.p, s.ok = p, true
	}
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal a Require middleware put in ctx.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

type slotKey struct{}

type slot struct {
	p  Principal
	ok bool
}

// Capture returns a context in which WithPrincipal (and so Require)
// also records the principal it authenticates, and a function that
// returns it once the handler has run. A middleware outside Require (the
// audit log of writes) uses it to name who made a request that Require
// let through or refused for lack of permission.
func Capture(ctx context.Context) (context.Context, func() (Principal, bool)) {
	s := &slot{}
	return context.WithValue(ctx, slotKey{}, s), func() (Principal, bool) { return s.p, s.ok }
}

// GenerateToken returns a new random token: 32 bytes from crypto/rand,
// base64url without padding (43 characters).
func GenerateToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// WriteError writes {"error": msg} with the status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
