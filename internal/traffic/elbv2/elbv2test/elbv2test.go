// Package elbv2test is a stateful fake of Elastic Load Balancing v2 on the
// wire: the query protocol (form-encoded requests, XML answers and XML
// errors, as the service sends them) over target groups, listeners and
// listener rules. The adapter's wire tests and the functions' world
// (internal/lambdaenv/lambdaenvtest) share it.
package elbv2test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Example ARNs, as ELBv2 shapes them.
const (
	BlueARN     = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-staging-blue/0123456789abcdef"
	GreenARN    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-staging-green/fedcba9876543210"
	ListenerARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
	RuleARN     = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	xmlns       = `xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"`
)

// Fake speaks ELBv2's query protocol (form-encoded requests, XML
// answers and errors) over a little state: target groups with targets,
// one listener and one rule, each with a forward action.
type Fake struct {
	mu       sync.Mutex
	Requests []url.Values
	Groups   map[string]map[string]string // group ARN → target id → state
	Delay    map[string]string            // group ARN → deregistration_delay.timeout_seconds
	Weights  map[string]map[string]string // listener or rule ARN → group ARN → weight
	Sticky   bool
	Fail     map[string]string // action → error code
	// Settle moves targets on after each DescribeTargetHealth answer, as
	// the balancer's health checks and draining would: initial → healthy,
	// draining → gone.
	Settle bool
}

// New returns a fake with two groups (blue: i-1 healthy, i-2 unhealthy;
// green: empty), a listener forwarding 100/0 and a rule forwarding to blue.
func New() *Fake {
	return &Fake{
		Groups:  map[string]map[string]string{BlueARN: {"i-1": "healthy", "i-2": "unhealthy"}, GreenARN: {}},
		Delay:   map[string]string{BlueARN: "30"},
		Weights: map[string]map[string]string{ListenerARN: {BlueARN: "100", GreenARN: "0"}, RuleARN: {BlueARN: "100"}},
		Sticky:  true,
		Fail:    map[string]string{},
	}
}

func errorBody(code string) (int, string) {
	status := http.StatusBadRequest
	if code == "TargetGroupNotFound" || code == "ListenerNotFound" || code == "RuleNotFound" {
		status = http.StatusNotFound
	}
	return status, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code><Message>%s happened</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, xmlns, code, code)
}

func okBody(action, inner string) (int, string) {
	return http.StatusOK, fmt.Sprintf(`<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%sResponse>`,
		action, xmlns, action, inner, action, action)
}

// Members returns form[prefix.member.N.field] for N = 1, 2, … .
func Members(form url.Values, prefix, field string) []string {
	var out []string
	for n := 1; ; n++ {
		v, ok := form[fmt.Sprintf("%s.member.%d.%s", prefix, n, field)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func (f *Fake) forwardXML(arn string) string {
	var tgs []string
	for g := range f.Weights[arn] {
		tgs = append(tgs, g)
	}
	sort.Strings(tgs)
	var b strings.Builder
	b.WriteString("<member><Type>forward</Type><Order>1</Order><ForwardConfig><TargetGroups>")
	for _, g := range tgs {
		fmt.Fprintf(&b, "<member><TargetGroupArn>%s</TargetGroupArn><Weight>%s</Weight></member>", g, f.Weights[arn][g])
	}
	fmt.Fprintf(&b, "</TargetGroups><TargetGroupStickinessConfig><Enabled>%t</Enabled><DurationSeconds>3600</DurationSeconds></TargetGroupStickinessConfig></ForwardConfig></member>", f.Sticky)
	return b.String()
}

// ServeHTTP answers one request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	form := r.PostForm
	f.Requests = append(f.Requests, form)
	code, body := f.answer(form)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func (f *Fake) answer(form url.Values) (int, string) {
	action := form.Get("Action")
	if form.Get("Version") != "2015-12-01" {
		return errorBody("InvalidAction")
	}
	if c := f.Fail[action]; c != "" {
		return errorBody(c)
	}
	group := form.Get("TargetGroupArn")
	switch action {
	case "DescribeTargetHealth":
		targets, ok := f.Groups[group]
		if !ok {
			return errorBody("TargetGroupNotFound")
		}
		var ids []string
		for id := range targets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var b strings.Builder
		for _, id := range ids {
			reason := ""
			switch targets[id] {
			case "unhealthy":
				reason = "<Reason>Target.ResponseCodeMismatch</Reason><Description>Health checks failed with these codes: [502]</Description>"
			case "draining":
				reason = "<Reason>Target.DeregistrationInProgress</Reason><Description>Target deregistration is in progress</Description>"
			}
			fmt.Fprintf(&b, "<member><Target><Id>%s</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort><TargetHealth><State>%s</State>%s</TargetHealth></member>", id, targets[id], reason)
		}
		if f.Settle {
			for id, st := range targets {
				switch st {
				case "initial":
					targets[id] = "healthy"
				case "draining":
					delete(targets, id)
				}
			}
		}
		return okBody(action, "<TargetHealthDescriptions>"+b.String()+"</TargetHealthDescriptions>")
	case "RegisterTargets", "DeregisterTargets":
		targets, ok := f.Groups[group]
		if !ok {
			return errorBody("TargetGroupNotFound")
		}
		for _, id := range Members(form, "Targets", "Id") {
			if !strings.HasPrefix(id, "i-") {
				return errorBody("InvalidTarget")
			}
			if action == "RegisterTargets" {
				targets[id] = "initial"
			} else if _, ok := targets[id]; ok {
				targets[id] = "draining"
			}
		}
		return okBody(action, "")
	case "DescribeTargetGroupAttributes":
		if _, ok := f.Groups[group]; !ok {
			return errorBody("TargetGroupNotFound")
		}
		attrs := `<member><Key>stickiness.enabled</Key><Value>false</Value></member>`
		if d, ok := f.Delay[group]; ok {
			attrs += fmt.Sprintf(`<member><Key>deregistration_delay.timeout_seconds</Key><Value>%s</Value></member>`, d)
		}
		return okBody(action, "<Attributes>"+attrs+"</Attributes>")
	case "DescribeListeners":
		arn := form.Get("ListenerArns.member.1")
		if _, ok := f.Weights[arn]; !ok || arn == RuleARN {
			return errorBody("ListenerNotFound")
		}
		return okBody(action, fmt.Sprintf("<Listeners><member><ListenerArn>%s</ListenerArn><Port>443</Port><Protocol>HTTPS</Protocol><DefaultActions>%s</DefaultActions></member></Listeners>", arn, f.forwardXML(arn)))
	case "DescribeRules":
		arn := form.Get("RuleArns.member.1")
		if _, ok := f.Weights[arn]; !ok || arn == ListenerARN {
			return errorBody("RuleNotFound")
		}
		return okBody(action, fmt.Sprintf("<Rules><member><RuleArn>%s</RuleArn><Priority>10</Priority><IsDefault>false</IsDefault><Actions>%s</Actions></member></Rules>", arn, f.forwardXML(arn)))
	case "ModifyListener", "ModifyRule":
		arn, prefix := form.Get("ListenerArn"), "DefaultActions"
		if action == "ModifyRule" {
			arn, prefix = form.Get("RuleArn"), "Actions"
		}
		if _, ok := f.Weights[arn]; !ok {
			return errorBody("ListenerNotFound")
		}
		if form.Get(prefix+".member.1.Type") != "forward" {
			return errorBody("ValidationError")
		}
		tg := prefix + ".member.1.ForwardConfig.TargetGroups"
		arns, ws := Members(form, tg, "TargetGroupArn"), Members(form, tg, "Weight")
		if len(arns) != len(ws) {
			return errorBody("ValidationError")
		}
		f.Sticky = form.Get(prefix+".member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled") == "true"
		f.Weights[arn] = map[string]string{}
		for i := range arns {
			f.Weights[arn][arns[i]] = ws[i]
		}
		if action == "ModifyRule" {
			return okBody(action, fmt.Sprintf("<Rules><member><RuleArn>%s</RuleArn><Actions>%s</Actions></member></Rules>", arn, f.forwardXML(arn)))
		}
		return okBody(action, fmt.Sprintf("<Listeners><member><ListenerArn>%s</ListenerArn><DefaultActions>%s</DefaultActions></member></Listeners>", arn, f.forwardXML(arn)))
	}
	return errorBody("InvalidAction")
}

// Actions lists the requests' actions in order.
func (f *Fake) Actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.Requests {
		out = append(out, r.Get("Action"))
	}
	return out
}

// State is target id's state in group ("" when it is not registered).
func (f *Fake) State(group, id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Groups[group][id]
}
