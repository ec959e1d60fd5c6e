package queue

import (
	"log/slog"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Deps are what FromEnv would otherwise build from the environment. The
// Lambda entry point leaves them empty; the local stack supplies its own.
type Deps struct {
	// Driver broadcasts; nil means delivery.DriverFromEnv.
	Driver Broadcaster
	// SQS sends dead letters; nil means a client from config.AWS, made only
	// when BROADCAST_DLQ_URL is set.
	SQS sqsbatch.API
	// Logger is the handler's logger; nil means slog.Default().
	Logger *slog.Logger
}

// FromEnv builds the QueueFunction's handler from its configuration, as
// its Lambda entry point does once at init.
func FromEnv(env config.Lookup, deps Deps) (*Handler, error) {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{Driver: deps.Driver, Logger: log}
	if h.Driver == nil {
		d, err := delivery.DriverFromEnv(env, log)
		if err != nil {
			return nil, err
		}
		h.Driver = d
	}
	dl, err := deadletter.FromEnv(env, deps.SQS)
	if err != nil {
		return nil, err
	}
	if dl != nil {
		h.DeadLetters = dl
	}
	return h, nil
}
