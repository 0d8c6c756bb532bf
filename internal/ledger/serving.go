package ledger

import "github.com/slipway-deploy/slipway/internal/contract"

// Serving returns the release an environment serves according to its
// records (newest first), and the record that says so; "" and nil when
// nothing was ever deployed. It is the last known good release: the one a
// deployment rolls back to. Preflight, Resolve and `slipway status` read
// the ledger with it.
//
//   - a deployment that SUCCEEDED serves its version;
//   - one that ended after changing something without succeeding
//     (ROLLED_BACK, ROLLED_BACK_SCHEMA_KEPT, ROLLBACK_FAILED, STOPPED,
//     ABANDONED) leaves the release it replaced as the last known good one,
//     unless a later rollback execution completed it (RolledBackBy), whose
//     own record then says what serves;
//   - a FAILED one changed nothing and is skipped, as are running ones;
//   - a rollback execution that ROLLED_BACK serves its target.
func Serving(ds []Deployment) (string, *Deployment) {
	for i := range ds {
		d := &ds[i]
		switch {
		case !d.Final(), d.Status == contract.StatusFailed:
			continue
		case d.Kind == contract.KindRollback:
			if contract.RolledBack(d.Status) {
				return d.Version, d
			}
		case d.Status == contract.StatusSucceeded:
			return d.Version, d
		case d.RolledBackBy != "":
			continue // the rollback record, newer, says what serves
		default:
			return d.PreviousVersion, d
		}
	}
	return "", nil
}

// ReturnTarget returns the release a rollback execution returns an
// environment to when no version is named: the last known good release
// before the one that serves. A deployment that redeployed the release that
// already served is looked through, so that it does not name the serving
// release itself. It returns "" when there is none (the environment's first
// release serves).
func ReturnTarget(ds []Deployment) string {
	serving, from := Serving(ds)
	for from != nil {
		if from.Kind == contract.KindDeploy && from.PreviousVersion != "" && from.PreviousVersion != serving {
			return from.PreviousVersion
		}
		// Look at what served before that record.
		i := indexOf(ds, from.ID)
		ds = ds[i+1:]
		var v string
		v, from = Serving(ds)
		if v != "" && v != serving {
			return v
		}
	}
	return ""
}

func indexOf(ds []Deployment, id string) int {
	for i := range ds {
		if ds[i].ID == id {
			return i
		}
	}
	return len(ds) - 1
}
