//! Service-level risk: what a coordinator should look at today on an order, derived from its log and the clock.
//!
//! Pure: the caller supplies `now`, so the same log gives the same alerts in a test, in the console and in the
//! scheduler that raises webhooks. Alerts are recomputed, never stored; an alert disappears when its cause does.

use std::fmt;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::event::Stage;
use crate::log::OrderLog;
use crate::machine::OrderState;

/// Thresholds for [`sla_alerts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaRules {
    /// Raise [`Alert::MaterialsMissing`] when materials are still incomplete this long before the due date.
    pub materials_lead: Duration,
}

impl Default for SlaRules {
    /// Five days: the time a lab needs for a feature once it has the picture and the dialogue list.
    fn default() -> Self {
        SlaRules { materials_lead: Duration::days(5) }
    }
}

/// A risk to the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "alert", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Alert {
    /// The order is confirmed but the lab does not have all its materials, and the due date is near.
    MaterialsMissing {
        #[serde(with = "time::serde::rfc3339")]
        due_date: OffsetDateTime,
        /// Whole hours left until the due date (negative once it has passed).
        hours_left: i64,
    },
    /// The due date has passed and the lab still owes a delivery.
    Overdue {
        #[serde(with = "time::serde::rfc3339")]
        due_date: OffsetDateTime,
        hours_late: i64,
    },
    /// The lab's own estimate is later than the due date.
    EtaAfterDue {
        stage: Stage,
        #[serde(with = "time::serde::rfc3339")]
        eta: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        due_date: OffsetDateTime,
    },
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alert::MaterialsMissing { due_date, hours_left } => write!(
                f,
                "materials incomplete {hours_left} h before the due date {due_date}: send the lab what it is missing or move the due date"
            ),
            Alert::Overdue { due_date, hours_late } => {
                write!(f, "due {due_date}, {hours_late} h late and not delivered: ask the lab for a new date")
            }
            Alert::EtaAfterDue { stage, eta, due_date } => write!(
                f,
                "the lab expects to deliver {eta} (at {stage}), after the due date {due_date}: agree a new date or a faster turnaround"
            ),
        }
    }
}

/// The alerts on an order at `now`. An order not yet placed, delivered, accepted or closed has none of these
/// risks: once delivered, what is late is the distributor's review, which is not the lab's SLA.
pub fn sla_alerts(log: &OrderLog, now: OffsetDateTime, rules: &SlaRules) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let (Some(state), Some(due_date)) = (log.state(), log.due_date()) else { return alerts };
    if !state.is_before_delivery() {
        return alerts;
    }
    let hours_to_due = (due_date - now).whole_hours();
    // Before confirmation no materials are expected yet; in progress the lab said it had them all.
    let awaiting = matches!(state, OrderState::Confirmed | OrderState::AwaitingMaterials) && !log.materials_complete();
    if awaiting && now >= due_date - rules.materials_lead {
        alerts.push(Alert::MaterialsMissing { due_date, hours_left: hours_to_due });
    }
    if now > due_date {
        alerts.push(Alert::Overdue { due_date, hours_late: -hours_to_due });
    }
    if let Some((stage, eta)) = log.latest_eta()
        && eta > due_date
    {
        alerts.push(Alert::EtaAfterDue { stage, eta, due_date });
    }
    alerts
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::event::{Event, Party};
    use crate::log::tests::{log_of, progress, story};

    const DUE: OffsetDateTime = datetime!(2026-07-01 17:00 UTC);

    fn alerts(steps: usize, now: OffsetDateTime) -> Vec<Alert> {
        sla_alerts(&log_of(&story()[..steps]), now, &SlaRules::default())
    }

    #[test]
    fn materials_missing_from_five_days_before_due() {
        // Step 3: confirmed; step 4: partial materials; step 5: complete.
        assert_eq!(alerts(3, datetime!(2026-06-26 16:00 UTC)), []);
        assert_eq!(
            alerts(3, datetime!(2026-06-26 17:00 UTC)),
            [Alert::MaterialsMissing { due_date: DUE, hours_left: 120 }]
        );
        assert_eq!(
            alerts(4, datetime!(2026-06-28 17:00 UTC)),
            [Alert::MaterialsMissing { due_date: DUE, hours_left: 72 }]
        );
        assert_eq!(alerts(5, datetime!(2026-06-28 17:00 UTC)), []);
        // Not before confirmation: nothing has been agreed yet.
        assert_eq!(alerts(2, datetime!(2026-06-30 17:00 UTC)), []);
        let rules = SlaRules { materials_lead: Duration::days(10) };
        assert_eq!(sla_alerts(&log_of(&story()[..3]), datetime!(2026-06-22 17:00 UTC), &rules).len(), 1);
    }

    #[test]
    fn overdue_until_delivered() {
        let late = datetime!(2026-07-02 05:00 UTC);
        assert_eq!(
            alerts(3, late),
            [
                Alert::MaterialsMissing { due_date: DUE, hours_left: -12 },
                Alert::Overdue { due_date: DUE, hours_late: 12 }
            ]
        );
        assert_eq!(alerts(11, late), [Alert::Overdue { due_date: DUE, hours_late: 12 }]);
        assert_eq!(alerts(12, late), [], "delivered: the lab's part is done");
        assert_eq!(alerts(14, late), [Alert::Overdue { due_date: DUE, hours_late: 12 }], "redelivery owed");
        assert_eq!(alerts(18, late), []);
        assert_eq!(sla_alerts(&OrderLog::new(), late, &SlaRules::default()), []);
        let text = alerts(11, late)[0].to_string();
        assert!(text.contains("12 h late"), "{text}");
    }

    #[test]
    fn an_estimate_after_the_due_date_is_a_risk() {
        let mut events = story()[..5].to_vec();
        events.push((Party::Lab, progress(Stage::Translation, Some(datetime!(2026-07-02 12:00 UTC)))));
        let now = datetime!(2026-06-20 09:00 UTC);
        let eta = Alert::EtaAfterDue { stage: Stage::Translation, eta: datetime!(2026-07-02 12:00 UTC), due_date: DUE };
        assert_eq!(sla_alerts(&log_of(&events), now, &SlaRules::default()), [eta]);
        // Moving the due date clears it.
        events.push((
            Party::Distributor,
            Event::DueDateChanged { due_date: datetime!(2026-07-03 17:00 UTC), reason: None },
        ));
        assert_eq!(sla_alerts(&log_of(&events), now, &SlaRules::default()), []);
        let v = serde_json::to_value(eta).unwrap();
        assert_eq!(v["alert"], "etaAfterDue");
        assert_eq!(v["dueDate"], "2026-07-01T17:00:00Z");
    }
}
