package queue

import "github.com/heraldrt/herald/shared/delivery"

// Core is the delivery path h sends through.
func (h *Handler) Core() *delivery.Trigger { return h.core }
