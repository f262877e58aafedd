/**
 * The demo's SLOs, over the demo experiments (src/demo/experiments/): one per experiment, so that
 * the demo shows a budget intact (SQL injection, prevented), one spent by late or missing
 * detections (login brute force, missed with the default controls), and a time-to-detect SLO.
 * The SQL injection one has a weekly maintenance window (Sunday 02:00–03:00, Paris) whose runs
 * are left out of its budget.
 * `bulwark serve --demo` applies them with applySlo (src/app/slos/apply-slo.ts), one call each.
 */
export const DEMO_SLO_FILES: readonly string[] = [
  `apiVersion: bulwark/v1
kind: SLO
name: demo-sqli-held
displayName: SQL injection is blocked or detected in time
service: demo-shop
owner: demo-appsec
objective: 95
window: 7d
sli:
  experiments:
    experiment: sqli-products
alerting:
  minEvents: 3
policy:
  freezeBelow: 25
  pageOwner: true
exclusions:
  - name: sunday-waf-redeploy
    start: 2026-01-04T02:00
    duration: 1h
    rrule: FREQ=WEEKLY;BYDAY=SU
    timeZone: Europe/Paris
`,
  `apiVersion: bulwark/v1
kind: SLO
name: demo-brute-force-detected
displayName: Login brute force is detected in time
service: demo-shop
owner: demo-appsec
objective: 90
window: 7d
sli:
  experiments:
    experiment: login-brute-force
alerting:
  strategy: pyrra
  minEvents: 3
policy:
  freezeBelow: 25
  pageOwner: true
`,
  `apiVersion: bulwark/v1
kind: SLO
name: demo-admin-ttd
displayName: Anonymous admin access is detected within 10 seconds
service: demo-shop
objective: 90
window: 7d
sli:
  timeToDetect:
    experiment: admin-without-auth
    under: 10s
alerting:
  minEvents: 3
`,
];
