package auth_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/auth"
)

// A host application signs a short-lived HS256 token for its user; bigmarket
// reads the user id from the Authorization header of a …_by_token request.
func Example() {
	secret := []byte("a-shared-secret-of-at-least-32-bytes!")
	now := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)

	// Host application side.
	token, err := auth.Issue(secret, "u-1001", 15*time.Minute, now)
	if err != nil {
		panic(err)
	}

	// bigmarket side.
	a, err := auth.New(auth.Config{
		Mode:      auth.ModeToken,
		JWTSecret: secret,
		AppTokens: []string{"partner-app-token-0001"},
		Now:       func() time.Time { return now.Add(time.Minute) },
	})
	if err != nil {
		panic(err)
	}
	user, err := a.UserFromJWT("Bearer " + token)
	fmt.Println(user, err)

	_, err = a.UserFromJWT("Bearer " + token + "x")
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated), errors.Is(err, auth.ErrBadSignature))

	fmt.Println(a.RequireApp(), a.CheckAppToken("partner-app-token-0001"))
	// Output:
	// u-1001 <nil>
	// true true
	// true <nil>
}
