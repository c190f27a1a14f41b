package compact

import (
	"slices"
	"testing"
)

func FuzzDecodeJournal(f *testing.F) {
	f.Add([]byte(`{"version":1,"tenant":"acme","inputs":["01JB0Z7Y5T4B8Q2N6M3K9H1G0F","01JB0Z7Y5T4B8Q2N6M3K9H1G0G"],"level":1,"created_unix_nano":1730000000000000000}`))
	f.Add([]byte(`{"version":1,"tenant":"single-tenant","inputs":["01JB0Z7Y5T4B8Q2N6M3K9H1G0F"],"level":3,"created_unix_nano":5}`))
	f.Add([]byte(`{"version":1,"tenant":"t","inputs":[],"level":1,"created_unix_nano":5}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"tenant":"t","inputs":["01JB0Z7Y5T4B8Q2N6M3K9H1G0F"],"level":1,"created_unix_nano":5}{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJournal(data)
		if err != nil {
			return
		}
		again, err := j.encode()
		if err != nil {
			t.Fatalf("encode a decoded journal: %v", err)
		}
		k, err := DecodeJournal(again)
		if err != nil {
			t.Fatalf("decode a re-encoded journal: %v\n%s", err, again)
		}
		if k.Tenant != j.Tenant || k.Level != j.Level || k.CreatedUnixNano != j.CreatedUnixNano || !slices.Equal(k.Inputs, j.Inputs) {
			t.Fatalf("round trip changed the journal: %+v -> %+v", j, k)
		}
	})
}
