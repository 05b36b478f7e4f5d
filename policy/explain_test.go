package policy

import (
	"os"
	"testing"
)

func TestExplainPrint(t *testing.T) {
	if os.Getenv("EXPLAIN") == "" {
		t.Skip()
	}
	p, err := Load(os.Getenv("EXPLAIN"))
	if err != nil {
		t.Fatal(err)
	}
	p.Explain(os.Stdout)
}
