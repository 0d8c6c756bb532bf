package scenario

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// BenchmarkRollbackTime measures, on the embedded fleet, the time from the
// moment an alarm fires during the bake window to every instance verified
// serving the previous version again (the end of VerifyRollback). v2 is
// deployed over v1 on every iteration and rolled back by the alarm.
func BenchmarkRollbackTime(b *testing.B) {
	for _, n := range []int{3, 20} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			env := fleetEnv(b, n)
			mustDeploy(b, env, "v1")
			var total time.Duration
			for i := 0; i < b.N; i++ {
				var mu sync.Mutex
				var fired, restored time.Time
				hook := func(ev asl.HistoryEvent) {
					mu.Lock()
					defer mu.Unlock()
					switch {
					case ev.Type == "PassStateEntered" && ev.StateEnteredEventDetails.Name == "StartBake":
						env.Alarms.Set("demo-5xx", health.StateAlarm, "benchmark")
						fired = time.Now()
					case ev.Type == "TaskStateExited" && ev.StateExitedEventDetails.Name == "VerifyRollback":
						restored = time.Now()
					}
				}
				_, status := deploy(b, env, "v2", localenv.RunOptions{OnEvent: hook})
				env.Alarms.Set("demo-5xx", health.StateOK, "")
				if status != contract.StatusRolledBack || fired.IsZero() || restored.IsZero() {
					b.Fatalf("deploy v2 = %s, want ROLLED_BACK by the alarm", status)
				}
				total += restored.Sub(fired)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/alarm-to-previous")
		})
	}
}
