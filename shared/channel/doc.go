// Package channel knows Pusher channel names: their kinds (public, private,
// presence, encrypted, user), the characters and lengths Pusher accepts, and
// the Laravel-style base name that authorization rules match against.
//
// It holds no state and does no I/O. It is shared by the functions (which
// validate what apps send) and by the local Pusher-compatible server (which
// validates what browsers subscribe to), so both refuse the same names.
package channel
