// Package config reads herald's settings: Laravel's environment variable
// names (BROADCAST_CONNECTION, PUSHER_APP_KEY, ABLY_KEY, ...), from the
// process environment and, in AWS, from one Secrets Manager secret.
//
// Loading is separate from the types it fills (broadcast.Config and its
// Validate): everything reads through a Lookup, so tests need no process
// environment. Load runs once, at cold start; nothing here runs per
// invocation.
//
// Precedence: a variable set to a non-empty value in the environment wins;
// the secret named by BROADCAST_SECRET_ARN fills the variables the
// environment leaves unset or empty. So a deployment keeps credentials in
// the secret while a developer can still override one of them locally.
//
// Errors name the variable and what is wrong with it, never a secret's
// value.
package config
