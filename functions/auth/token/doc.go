// Package token verifies the bearer JWTs that identify who asks the auth
// function for a signature: HS256 with a shared secret, or RS256/ES256 (and
// their larger siblings) with keys from a JWKS URL, fetched once, cached
// across invocations and refetched when a token names an unknown key id.
//
// Every token's algorithm is pinned to the kind of key that verifies it: an
// HMAC secret only ever verifies HS256, an RSA key only RS*, an EC key only
// the ES* of its curve. "none" is never accepted. exp is required; exp, nbf
// and iat are checked with a small leeway; iss and aud when configured.
//
// Errors say what was wrong with a token in words safe to show the caller;
// they never contain the token or a key.
package token
