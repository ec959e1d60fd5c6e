package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/heraldrt/herald/infra/moto"
)

var (
	motoMu  sync.Mutex
	motoSrv *moto.Server
)

// Moto returns this test binary's moto server, started on a free loopback
// port the first time a test asks. Every test of the package shares it:
// give each test its own tables and queues (UniqueName). A package that
// uses it stops it from TestMain with Main; should the test binary die
// first, moto dies with it.
//
// Without moto the test fails, naming the install command: the tests that
// need AWS never skip.
func Moto(t testing.TB) *moto.Server {
	t.Helper()
	motoMu.Lock()
	defer motoMu.Unlock()
	if motoSrv != nil {
		select {
		case <-motoSrv.Done():
			t.Fatal("testkit: moto has exited")
		default:
			return motoSrv
		}
	}
	var err error
	for range 3 { // the free port may be taken before moto binds it
		if motoSrv, err = moto.Start(context.Background(), moto.Config{Addr: "127.0.0.1:0", Dir: RepoRoot(t)}); err == nil {
			return motoSrv
		}
		if err == moto.ErrNotInstalled {
			break
		}
	}
	t.Fatalf("testkit: %v", err)
	return nil
}

// Main runs the package's tests and then stops moto if a test started it;
// call it from TestMain:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	motoMu.Lock()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	motoMu.Unlock()
	os.Exit(code)
}

// AWSConfig is an SDK configuration for s: its endpoint for every service,
// its region and fixed credentials, and the SDK's standard retryer.
func AWSConfig(s *moto.Server) aws.Config {
	return aws.Config{
		Region:       moto.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(moto.AccessKeyID, moto.SecretAccessKey, ""),
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueName is a queue or table name for this test alone: prefix, the
// test's name and a random suffix, within SQS's 80 characters.
func UniqueName(t testing.TB, prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	name := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	return prefix + "-" + name + "-" + hex.EncodeToString(b[:])
}
