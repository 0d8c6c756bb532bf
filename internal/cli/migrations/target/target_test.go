package target

import (
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, wantEngine, wantString string
		wantCode                    int
	}{
		{url: "postgres://app:pw@db.internal:5433/app", wantEngine: "postgres", wantString: "postgres app@db.internal:5433/app"},
		{url: "mysql://root@127.0.0.1:3306/shop", wantEngine: "mysql", wantString: "mysql root@127.0.0.1:3306/shop"},
		{url: "sqlite:///var/lib/app.db", wantEngine: "sqlite", wantString: "sqlite /var/lib/app.db"},
		{url: "sqlite://relative/app.db", wantEngine: "sqlite", wantString: "sqlite relative/app.db"},
		{url: "oracle://x/y", wantCode: factory.ExitUsage},
		{url: "postgres://host-only", wantCode: factory.ExitUsage},
		{url: "app.db", wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d, err := ParseURL(tt.url)
			if tt.wantCode != 0 {
				if factory.ExitCode(err) != tt.wantCode {
					t.Errorf("ParseURL(%q) error = %v, want exit %d", tt.url, err, tt.wantCode)
				}
				return
			}
			if err != nil || d.Family() != tt.wantEngine || d.String() != tt.wantString {
				t.Errorf("ParseURL(%q) = %s (%s), %v; want %s (%s)", tt.url, d, d.Family(), err, tt.wantString, tt.wantEngine)
			}
			if d.String() != tt.wantString || (tt.wantEngine == "postgres" && d.Password.Reveal() != "pw") {
				t.Errorf("ParseURL(%q) password not carried", tt.url)
			}
		})
	}
}
