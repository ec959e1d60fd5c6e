package stack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// User is a row of the demo's Users table.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// errNoUser is returned for a user the table does not hold.
var errNoUser = errors.New("no user")

// DemoUsers are the people the page can log in as.
var DemoUsers = []User{
	{ID: "42", Name: "Alice", Email: "alice@example.com"},
	{ID: "43", Name: "Bob", Email: "bob@example.com"},
}

// usersTable stands in for a DynamoDB table with a stream: writing a row
// yields the stream record DynamoDB would emit (NEW_AND_OLD_IMAGES), which
// the stack hands to the StreamFunction.
type usersTable struct {
	mu   sync.Mutex
	rows map[string]User
	seq  int64
}

func newUsersTable() *usersTable {
	t := &usersTable{rows: map[string]User{}, seq: time.Now().UnixNano()}
	for _, u := range DemoUsers {
		t.rows[u.ID] = u
	}
	return t
}

// List returns the rows ordered by id.
func (t *usersTable) List() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, 0, len(t.rows))
	for _, u := range t.rows {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

// idLess orders numeric ids as numbers.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Create adds a user under the next free id and returns the INSERT record.
func (t *usersTable) Create(name string) (User, events.DynamoDBEventRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := 0
	for id := range t.rows {
		if n, err := strconv.Atoi(id); err == nil && n >= next {
			next = n + 1
		}
	}
	u := User{ID: strconv.Itoa(next), Name: name, Email: emailFor(name)}
	t.rows[u.ID] = u
	t.seq++
	return u, streamRecord("INSERT", t.seq, nil, &u)
}

// emailFor makes a demo address from a name: "Carol Ann" -> carolann@example.com.
func emailFor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		b.WriteString("user")
	}
	return b.String() + "@example.com"
}

// Rename changes a user's name and returns the MODIFY record.
func (t *usersTable) Rename(id, name string) (events.DynamoDBEventRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.rows[id]
	if !ok {
		return events.DynamoDBEventRecord{}, fmt.Errorf("%w %q", errNoUser, id)
	}
	u := old
	u.Name = name
	t.rows[id] = u
	t.seq++
	return streamRecord("MODIFY", t.seq, &old, &u), nil
}

// Delete removes a user and returns the REMOVE record, which carries the
// old image: that is what lets the StreamFunction still announce the
// deleted model.
func (t *usersTable) Delete(id string) (events.DynamoDBEventRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.rows[id]
	if !ok {
		return events.DynamoDBEventRecord{}, fmt.Errorf("%w %q", errNoUser, id)
	}
	delete(t.rows, id)
	t.seq++
	return streamRecord("REMOVE", t.seq, &old, nil), nil
}

// image is a row as DynamoDB stores it; password is there so the stream
// function's hidden list has something to keep out of the broadcast.
func image(u *User) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"id":       events.NewNumberAttribute(u.ID),
		"name":     events.NewStringAttribute(u.Name),
		"email":    events.NewStringAttribute(u.Email),
		"password": events.NewStringAttribute("$2y$12$local.demo.hash.never.broadcast"),
	}
}

// streamRecord is the record DynamoDB Streams delivers for a write, as
// Lambda's event source mapping passes it on.
func streamRecord(name string, seq int64, old, cur *User) events.DynamoDBEventRecord {
	key := cur
	if key == nil {
		key = old
	}
	ch := events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now().Truncate(time.Second)},
		Keys:                        map[string]events.DynamoDBAttributeValue{"id": events.NewNumberAttribute(key.ID)},
		SequenceNumber:              strconv.FormatInt(seq, 10),
		SizeBytes:                   256,
		StreamViewType:              "NEW_AND_OLD_IMAGES",
	}
	if cur != nil {
		ch.NewImage = image(cur)
	}
	if old != nil {
		ch.OldImage = image(old)
	}
	var id [16]byte
	rand.Read(id[:])
	return events.DynamoDBEventRecord{
		AWSRegion:      localRegion,
		Change:         ch,
		EventID:        hex.EncodeToString(id[:]),
		EventName:      name,
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: "arn:aws:dynamodb:" + localRegion + ":" + localAccount + ":table/" + usersTableName + "/stream/2026-01-01T00:00:00.000",
	}
}
