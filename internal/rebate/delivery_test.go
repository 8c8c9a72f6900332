package rebate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

var errTransient = errors.New("test: database unavailable")

// fakeSKUs is a SKU orderer with the idempotency of the real one: a repeated
// out_business_no answers activity.ErrDuplicate. SKUs outside known are
// unknown; fail makes the next calls fail transiently.
type fakeSKUs struct {
	mu     sync.Mutex
	known  map[int64]bool
	orders map[string]int64 // out_business_no -> sku
	fail   bool
}

func (f *fakeSKUs) CreateSKUOrder(_ context.Context, user string, sku int64, obn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.fail:
		return errTransient
	case !f.known[sku]:
		return fmt.Errorf("fake sku order: sku[%d]: %w", sku, activity.ErrUnknownSKU)
	case f.orders[obn] != 0:
		return fmt.Errorf("fake sku order: %s: %w", obn, activity.ErrDuplicate)
	}
	f.orders[obn] = sku
	return nil
}

func (f *fakeSKUs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.orders)
}

func (f *fakeSKUs) setFail(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = v
}

// fakeCredits is a ledger with the real one's rules: validation and a unique
// out_business_no.
type fakeCredits struct {
	mu      sync.Mutex
	orders  map[string]credit.Order
	balance map[string]money.Amount
	fail    bool
}

func (f *fakeCredits) Apply(_ context.Context, o credit.Order) error {
	if err := o.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errTransient
	}
	if _, ok := f.orders[o.OutBusinessNo]; ok {
		return fmt.Errorf("fake credit: %s: %w", o.OutBusinessNo, credit.ErrDuplicate)
	}
	f.orders[o.OutBusinessNo] = o
	f.balance[o.UserID] = f.balance[o.UserID].Add(o.Amount)
	return nil
}

func (f *fakeCredits) of(user string) money.Amount {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.balance[user]
}

func (f *fakeCredits) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.orders)
}

// marks records MarkCompleted calls.
type marks struct {
	mu  sync.Mutex
	ids []string
}

func (m *marks) MarkCompleted(_ context.Context, user, orderID string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids = append(m.ids, user+"/"+orderID)
	return nil
}

type deliveryFixture struct {
	d       *rebate.Deliverer
	skus    *fakeSKUs
	credits *fakeCredits
	marks   *marks
	results map[rebate.Outcome]int
}

func newDeliveryFixture(t *testing.T) *deliveryFixture {
	t.Helper()
	f := &deliveryFixture{
		skus:    &fakeSKUs{known: map[int64]bool{9901: true}, orders: map[string]int64{}},
		credits: &fakeCredits{orders: map[string]credit.Order{}, balance: map[string]money.Amount{}},
		marks:   &marks{},
		results: map[rebate.Outcome]int{},
	}
	var mu sync.Mutex
	d, err := rebate.NewDeliverer(rebate.DelivererConfig{
		SKUs: f.skus, Credits: f.credits, Orders: f.marks,
		OnResult: func(o rebate.Outcome, _ rebate.SendRebate, _ error) {
			mu.Lock()
			defer mu.Unlock()
			f.results[o]++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.d = d
	return f
}

func message(t *testing.T, id string, sr rebate.SendRebate) bus.Message {
	t.Helper()
	tk, err := outbox.New(sr.UserID, outbox.TopicSendRebate, id, sr, time.UnixMilli(1_700_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	return tk.Message()
}

var (
	signIntegral = rebate.SendRebate{UserID: "alice", Behavior: rebate.BehaviorSign, Type: rebate.TypeIntegral, Config: "10",
		BizID: "alice_integral_20231114", OrderID: "o-1"}
	signSKU = rebate.SendRebate{UserID: "alice", Behavior: rebate.BehaviorSign, Type: rebate.TypeSKU, Config: "9901",
		BizID: "alice_sku_20231114", OrderID: "o-2"}
)

func TestDeliverOnceDespiteDuplicates(t *testing.T) {
	f := newDeliveryFixture(t)
	ctx := context.Background()
	mi, ms := message(t, "m-1", signIntegral), message(t, "m-2", signSKU)
	for round := range 3 { // the first delivery, then two redeliveries of both
		for _, m := range []bus.Message{mi, ms} {
			if err := f.d.Handle(ctx, m); err != nil {
				t.Fatalf("round %d: Handle(%s): %v", round, m.ID, err)
			}
		}
	}
	if b := f.credits.of("alice"); b != money.FromInt(10) {
		t.Fatalf("balance = %s, want 10", b)
	}
	if f.credits.count() != 1 || f.skus.count() != 1 {
		t.Fatalf("%d credit orders and %d quota orders, want 1 each", f.credits.count(), f.skus.count())
	}
	o := f.credits.orders[signIntegral.BizID]
	if o.TradeName != credit.TradeRebate || o.TradeType != credit.Forward || o.UserID != "alice" {
		t.Fatalf("credit order %+v", o)
	}
	if f.skus.orders[signSKU.BizID] != 9901 {
		t.Fatalf("quota orders %v", f.skus.orders)
	}
	want := map[rebate.Outcome]int{rebate.OutcomeCredited: 1, rebate.OutcomeQuota: 1, rebate.OutcomeAlreadyDone: 4}
	if fmt.Sprint(f.results) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", f.results, want)
	}
	// Delivered and redelivered orders are marked completed (idempotent marks).
	if len(f.marks.ids) != 6 || f.marks.ids[0] != "alice/o-1" || f.marks.ids[1] != "alice/o-2" {
		t.Fatalf("marks %v", f.marks.ids)
	}
}

func TestDeliverReorderedPair(t *testing.T) {
	f := newDeliveryFixture(t)
	ctx := context.Background()
	// Two days' sign-in credits arrive newest first, and each twice, interleaved.
	day1 := signIntegral
	day2 := signIntegral
	day2.BizID, day2.OrderID = "alice_integral_20231115", "o-3"
	seq := []bus.Message{message(t, "m-3", day2), message(t, "m-1", day1), message(t, "m-3", day2), message(t, "m-1", day1)}
	for _, m := range seq {
		if err := f.d.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if b := f.credits.of("alice"); b != money.FromInt(20) || f.credits.count() != 2 {
		t.Fatalf("balance %s with %d orders, want 20 with 2", b, f.credits.count())
	}
}

func TestDeliverPermanentFailuresAcknowledged(t *testing.T) {
	ctx := context.Background()
	unknownSKU := signSKU
	unknownSKU.Config = "4242"
	badSKU := signSKU
	badSKU.Config = "sku-one"
	cases := map[string]bus.Message{
		"unknown sku":    message(t, "m-1", unknownSKU),
		"sku not a num":  message(t, "m-2", badSKU),
		"malformed body": {Topic: outbox.TopicSendRebate, ID: "m-3", Body: []byte(`{"id":"m-3","data":`)},
		"no data":        {Topic: outbox.TopicSendRebate, ID: "m-4", Body: []byte(`{"id":"m-4","timestamp":1}`)},
	}
	for _, amount := range []string{"abc", "0", "-5", "1.234", ""} {
		sr := signIntegral
		sr.Config = amount
		cases["amount "+amount] = message(t, "m-a"+amount, sr)
	}
	unknownType := signIntegral
	unknownType.Type = "coupon"
	cases["unknown type"] = message(t, "m-5", unknownType)
	noBiz := signIntegral
	noBiz.BizID = ""
	cases["no biz id"] = message(t, "m-6", noBiz)

	for name, m := range cases {
		f := newDeliveryFixture(t)
		if err := f.d.Handle(ctx, m); err != nil {
			t.Errorf("%s: Handle = %v, want nil (acknowledged)", name, err)
		}
		if f.results[rebate.OutcomeRejected] != 1 {
			t.Errorf("%s: outcomes %v, want one rejected", name, f.results)
		}
		if f.credits.count() != 0 || f.skus.count() != 0 || len(f.marks.ids) != 0 {
			t.Errorf("%s: something was granted or marked", name)
		}
	}
}

func TestDeliverTransientFailureRetried(t *testing.T) {
	f := newDeliveryFixture(t)
	ctx := context.Background()
	mi, ms := message(t, "m-1", signIntegral), message(t, "m-2", signSKU)
	f.credits.fail = true
	f.skus.setFail(true)
	for _, m := range []bus.Message{mi, ms} {
		if err := f.d.Handle(ctx, m); !errors.Is(err, errTransient) {
			t.Fatalf("Handle(%s) during an outage = %v, want the transient error (redelivery)", m.ID, err)
		}
	}
	if len(f.marks.ids) != 0 {
		t.Fatalf("orders marked during an outage: %v", f.marks.ids)
	}
	f.credits.fail = false
	f.skus.setFail(false)
	for _, m := range []bus.Message{mi, ms, mi, ms} { // the redeliveries, twice
		if err := f.d.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if f.credits.of("alice") != money.FromInt(10) || f.skus.count() != 1 {
		t.Fatalf("after the outage: balance %s, quota orders %d", f.credits.of("alice"), f.skus.count())
	}
}

func TestNewDelivererNeedsDependencies(t *testing.T) {
	if _, err := rebate.NewDeliverer(rebate.DelivererConfig{SKUs: &fakeSKUs{}}); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("without credits: %v", err)
	}
	if _, err := rebate.NewDeliverer(rebate.DelivererConfig{Credits: &fakeCredits{}}); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("without SKUs: %v", err)
	}
}
