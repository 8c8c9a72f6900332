package money

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseAndString(t *testing.T) {
	tests := []struct {
		in    string
		cents int64
		out   string
	}{
		{"0", 0, "0.00"},
		{"10", 1000, "10.00"},
		{"200.00", 20000, "200.00"},
		{"3.5", 350, "3.50"},
		{"-3.05", -305, "-3.05"},
		{"+1.01", 101, "1.01"},
		{"0.01", 1, "0.01"},
		{"9999999999999.99", 999999999999999, "9999999999999.99"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if a.Cents() != tt.cents || a.String() != tt.out {
			t.Errorf("Parse(%q) = %d %q, want %d %q", tt.in, a.Cents(), a.String(), tt.cents, tt.out)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "-", ".5", "1.", "1.234", "1e3", " 1", "abc", "1,5", "10000000000000", "0x10", "--1"} {
		if _, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", in, err)
		}
	}
}

func TestArithmetic(t *testing.T) {
	a, b := FromInt(10), FromCents(250)
	if got := a.Sub(b); got.String() != "7.50" {
		t.Errorf("10 - 2.50 = %s", got)
	}
	if got := a.Add(b); got.Cents() != 1250 {
		t.Errorf("10 + 2.50 = %s", got)
	}
	if a.Cmp(b) != 1 || b.Cmp(a) != -1 || a.Cmp(FromCents(1000)) != 0 {
		t.Error("Cmp is wrong")
	}
	if !b.IsPositive() || b.IsNegative() || !FromCents(-1).IsNegative() {
		t.Error("sign predicates are wrong")
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(struct{ A Amount }{FromCents(1234)})
	if err != nil || string(b) != `{"A":12.34}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var v struct{ A Amount }
	if err := json.Unmarshal([]byte(`{"A":"5.5"}`), &v); err != nil || v.A.Cents() != 550 {
		t.Fatalf("Unmarshal string = %v, %v", v.A, err)
	}
	if err := json.Unmarshal([]byte(`{"A":0.001}`), &v); err == nil {
		t.Fatal("Unmarshal accepted three fraction digits")
	}
}
