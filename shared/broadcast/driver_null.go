package broadcast

import "context"

// Null accepts every message and sends none (Laravel's null broadcaster):
// for functions that must run without a provider.
type Null struct{}

var _ Driver = Null{}

// Name implements Driver.
func (Null) Name() string { return "null" }

// Limits implements Driver: the log driver's, so that switching between the
// two local drivers never changes what validates.
func (Null) Limits() Limits { return (&Log{}).Limits() }

// Broadcast implements Driver; it does nothing.
func (Null) Broadcast(context.Context, []Message) error { return nil }
