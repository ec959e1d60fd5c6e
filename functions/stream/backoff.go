package stream

import (
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
)

// heldBack reports whether a batch in which every record failed for now
// failed because the provider's rate limit held its first record back.
// Such a batch is reported record by record, from the first: Lambda resumes
// there, and the limiter of this warm container makes the next invocation
// wait for its turn. Failing the invocation instead would make Lambda
// bisect the batch (BisectBatchOnFunctionError) into ever smaller batches,
// each meeting the same limit and spending the retry attempts.
func heldBack(results []delivery.Result) bool {
	return len(results) > 0 && broadcast.IsBackoff(results[0].Err)
}
