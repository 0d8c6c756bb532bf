package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
)

func rollbackProcedure(kind string, p contract.PreflightOutput, migs Migrations, snapshotID, restore string, checked bool, missing []string) RollbackProcedure {
	env := p.Environment
	rp := RollbackProcedure{Target: p.PreviousVersion, Commands: []string{}}
	if kind == KindRollback {
		rp.Target = p.Version
		rp.Automatic = "a rollback that fails is not retried by itself: the report names what stays on the rolled-back release"
		rp.TargetOnHosts = "checked on every host before the lock"
		rp.Commands = append(rp.Commands, fmt.Sprintf("slipway rollback --env %s --to %s", env, orPlaceholder(p.Version, "<version>")), "slipway status --env "+env)
	} else {
		rp.Automatic = "any failure, a failed health check, or an alarm during the waves or the bake switches the instances this deployment moved back to the previous release (no download, no rebuild), verifies them, and reverts the migrations it applied where they are reversible"
		switch {
		case p.PreviousVersion == "":
			rp.TargetOnHosts = "no previous release: a first deployment cannot be rolled back, only fixed forward"
			rp.Automatic = "a first deployment has no previous release: a failure leaves the instances it reached on the new release; deploy a fix"
		case len(missing) > 0:
			rp.TargetOnHosts = fmt.Sprintf("no: %s lack %s (redeploy %s first)", strings.Join(missing, ", "), p.PreviousVersion, p.PreviousVersion)
		case checked:
			rp.TargetOnHosts = "yes: every host keeps " + p.PreviousVersion
		default:
			rp.TargetOnHosts = "checked on every host before the lock"
		}
		if p.PreviousVersion != "" {
			rp.Commands = append(rp.Commands,
				fmt.Sprintf("slipway rollback --env %s                 # back to %s", env, p.PreviousVersion),
				fmt.Sprintf("slipway rollback --env %s --to %s", env, p.PreviousVersion))
		}
		rp.Commands = append(rp.Commands, fmt.Sprintf("slipway lock acquire --env %s -m \"why\"   # stop further deployments while you look", env))
	}
	rp.Snapshot = snapshotID
	// Reverts run newest first and stop at the first migration that is not
	// reversible: it and every one below it stay (migrate.Runner.DownTo).
	var irreversible bool
	pending := slices.Clone(migs.Pending)
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].Version > pending[j].Version })
	var blocker string
	for _, m := range pending {
		s := SchemaStep{Migration: m.Key(), Reversible: m.Reversible}
		switch {
		case !m.Reversible:
			irreversible = true
			s.How = "not reversible: it stays; the previous release must cope with it, or restore the snapshot"
			if blocker == "" {
				blocker = m.Key()
			}
		case blocker != "":
			s.How = "reversible, but it stays: reverts stop at " + blocker + ", which is not"
		default:
			s.How = "its down migration runs on rollback"
		}
		rp.Schema = append(rp.Schema, s)
	}
	slices.Reverse(rp.Schema)
	if len(migs.Pending) > 0 && rp.Snapshot == "" {
		rp.Snapshot = "taken before the migrations; its id will be in the report"
	}
	if irreversible || restore != "" {
		rp.Restore = restore
		if rp.Restore == "" {
			rp.Restore = "restore the database from the snapshot taken before the migrations"
		}
	}
	return rp
}

func rollbackDetails(in DeploymentInput, restore string) *RollbackDetails {
	d := in.Deployment
	rd := &RollbackDetails{Reverted: []string{}, NotReverted: []string{}, Restore: restore}
	switch {
	case d.Kind == KindRollback:
		t := d.Trigger
		switch t.Source {
		case "alarm":
			rd.TriggeredBy = fmt.Sprintf("alarm %s in ALARM (the alarm router started this rollback)", orPlaceholder(t.Alarm, "?"))
		case "":
			rd.TriggeredBy = "a rollback execution"
		default:
			rd.TriggeredBy = fmt.Sprintf("%s by %s", t.Source, orPlaceholder(t.Actor, "an unnamed user"))
		}
		if t.Reason != "" {
			rd.TriggeredBy += ": " + t.Reason
		}
		if d.TargetDeploymentID != "" {
			rd.TriggeredBy += fmt.Sprintf(" (rolls back deployment %s)", d.TargetDeploymentID)
		}
	case d.Error != "":
		rd.TriggeredBy = d.Error + ": " + CauseMessage(d.Cause)
	default:
		rd.TriggeredBy = "a later rollback"
		if d.RolledBackBy != "" {
			rd.TriggeredBy = "rollback " + d.RolledBackBy
		}
	}
	schemaSeen := false
	for _, st := range in.Steps {
		switch st.Stage {
		case contract.StageRollback, contract.StageVerifyRollback, contract.StageRevertSchema:
		default:
			continue
		}
		if st.Stage == contract.StageRevertSchema {
			schemaSeen = true
		}
		switch {
		case st.Status == "ok":
			rd.Reverted = append(rd.Reverted, st.Message)
		case st.Status == "failed":
			rd.NotReverted = append(rd.NotReverted, st.Message)
		case st.Stage == contract.StageRevertSchema && st.Status == "info":
			rd.NotReverted = append(rd.NotReverted, st.Message)
		}
	}
	if in.State != nil && in.State.Migration != nil && len(in.State.Migration.Applied) > 0 && !schemaSeen {
		rd.NotReverted = append(rd.NotReverted, fmt.Sprintf("the schema was not reverted: it stays at %d", in.State.Migration.To))
	}
	if len(rd.Reverted) == 0 && len(rd.NotReverted) == 0 {
		rd.Reverted = append(rd.Reverted, "nothing: no instance and no schema had changed")
	}
	if d.Status == contract.StatusRolledBack && d.RolledBackBy != "" && d.Kind == KindDeploy {
		rd.Reverted = append(rd.Reverted, "rolled back by "+d.RolledBackBy+" (its report has the details)")
	}
	return rd
}
