// Package app is what a Go backend uses to feed herald: typed builders for
// the envelope and its notification form, validated by package events'
// own rules; senders that put them on the broadcast queue (one message, or
// batches of at most 10 per SQS call within SQS's 256 KiB); and an outbox
// writer that stores the app's row and the outbox row in one DynamoDB
// transaction, so the event is broadcast exactly when the change commits.
//
//	body, err := app.Event{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: email}.Body()
//	err = app.Queue{SQS: sqs.NewFromConfig(cfg), URL: queueURL}.Send(ctx, app.Event{...})
package app
