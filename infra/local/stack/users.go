package stack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// User is a row of the demo's Users table.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// errNoUser is returned for a user the table does not hold.
var errNoUser = errors.New("no user")

// DemoUsers are the people the page can log in as; the stack writes them
// to the Users table before it starts reading the table's stream.
var DemoUsers = []User{
	{ID: "42", Name: "Alice", Email: "alice@example.com"},
	{ID: "43", Name: "Bob", Email: "bob@example.com"},
}

// demoPassword is in every row so that the StreamFunction's hidden list
// has something to keep out of the broadcast.
const demoPassword = "$2y$12$local.demo.hash.never.broadcast"

// item is u as the Users table stores it.
func item(u User) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"id":       &ddbtypes.AttributeValueMemberN{Value: u.ID},
		"name":     &ddbtypes.AttributeValueMemberS{Value: u.Name},
		"email":    &ddbtypes.AttributeValueMemberS{Value: u.Email},
		"password": &ddbtypes.AttributeValueMemberS{Value: demoPassword},
	}
}

func userOf(it map[string]ddbtypes.AttributeValue) User {
	var u User
	if v, ok := it["id"].(*ddbtypes.AttributeValueMemberN); ok {
		u.ID = v.Value
	}
	if v, ok := it["name"].(*ddbtypes.AttributeValueMemberS); ok {
		u.Name = v.Value
	}
	if v, ok := it["email"].(*ddbtypes.AttributeValueMemberS); ok {
		u.Email = v.Value
	}
	return u
}

func userKey(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberN{Value: id}}
}

func seedUsers(ctx context.Context, c *dynamodb.Client) error {
	for _, u := range DemoUsers {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(UsersTable), Item: item(u)}); err != nil {
			return fmt.Errorf("seeding %s: %w", UsersTable, err)
		}
	}
	return nil
}

// users writes the Users table as an app would, with the SDK; the table's
// stream, not the stack, takes each write to the StreamFunction.
type users struct{ c *dynamodb.Client }

// List scans the table and orders the rows by id.
func (t users) List(ctx context.Context) ([]User, error) {
	var out []User
	p := dynamodb.NewScanPaginator(t.c, &dynamodb.ScanInput{TableName: aws.String(UsersTable)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", UsersTable, err)
		}
		for _, it := range page.Items {
			out = append(out, userOf(it))
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out, nil
}

// idLess orders numeric ids as numbers.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Create adds a user under the next free id; a concurrent create of the
// same id makes it try the next one.
func (t users) Create(ctx context.Context, name string) (User, error) {
	rows, err := t.List(ctx)
	if err != nil {
		return User{}, err
	}
	next := 0
	for _, u := range rows {
		if n, err := strconv.Atoi(u.ID); err == nil && n >= next {
			next = n + 1
		}
	}
	for range 10 {
		u := User{ID: strconv.Itoa(next), Name: name, Email: emailFor(name)}
		_, err := t.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(UsersTable), Item: item(u),
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		})
		var taken *ddbtypes.ConditionalCheckFailedException
		switch {
		case err == nil:
			return u, nil
		case errors.As(err, &taken):
			next++
		default:
			return User{}, fmt.Errorf("PutItem on %s: %w", UsersTable, err)
		}
	}
	return User{}, fmt.Errorf("PutItem on %s: no free id after %d tries", UsersTable, 10)
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

// Rename changes a user's name (UpdateItem: a MODIFY record).
func (t users) Rename(ctx context.Context, id, name string) (User, error) {
	out, err := t.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(UsersTable),
		Key:                       userKey(id),
		UpdateExpression:          aws.String("SET #name = :name"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeNames:  map[string]string{"#name": "name"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":name": &ddbtypes.AttributeValueMemberS{Value: name}},
		ReturnValues:              ddbtypes.ReturnValueAllNew,
	})
	if err != nil {
		return User{}, t.check(err, "UpdateItem", id)
	}
	return userOf(out.Attributes), nil
}

// Delete removes a user (DeleteItem: a REMOVE record, whose old image lets
// the StreamFunction still announce the deleted model).
func (t users) Delete(ctx context.Context, id string) (User, error) {
	out, err := t.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(UsersTable),
		Key:                 userKey(id),
		ConditionExpression: aws.String("attribute_exists(id)"),
		ReturnValues:        ddbtypes.ReturnValueAllOld,
	})
	if err != nil {
		return User{}, t.check(err, "DeleteItem", id)
	}
	return userOf(out.Attributes), nil
}

func (t users) check(err error, op, id string) error {
	var missing *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &missing) {
		return fmt.Errorf("%w %q", errNoUser, id)
	}
	return fmt.Errorf("%s on %s: %w", op, UsersTable, err)
}
