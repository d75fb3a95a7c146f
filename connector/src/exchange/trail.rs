//! What an order writes to the audit trail (`passerelle-audit`), inside the transaction that stores the event
//! and under the process host's writer lock: every order event, whoever wrote it, and each delivery receipt with
//! its signed JWS — so an auditor can check what was ordered, delivered and accepted under a contract.

use passerelle_audit::{EntryDraft, EntryKind, Timestamp};
use passerelle_exchange::{Entry, Event, Party};
use serde_json::json;
use sqlx::SqliteConnection;

use super::records::RecordError;
use crate::contracts::trail::Journal;

/// The audit entries for order event `entry` of our order `order_key` (reference `order_id`), we being `side`.
pub(crate) fn entries(order_key: &str, order_id: &str, side: Party, entry: &Entry) -> Vec<EntryDraft> {
    let actor = if entry.sender == side { "self".to_string() } else { format!("the {}", entry.sender) };
    let mut drafts = vec![EntryDraft {
        at: Timestamp::now(),
        kind: EntryKind::EXCHANGE_EVENT,
        subject: order_key.to_string(),
        actor: actor.clone(),
        payload: json!({
            "orderId": order_id,
            "side": side,
            "seq": entry.seq,
            "sender": entry.sender,
            "type": entry.event.kind(),
            "event": entry.event,
            "state": entry.state,
        }),
    }];
    if let Event::DeliveryReceived { manifest_ref, receipt } = &entry.event {
        drafts.push(EntryDraft {
            at: Timestamp::now(),
            kind: EntryKind::DELIVERY_RECEIPT,
            subject: order_key.to_string(),
            actor,
            payload: json!({"orderId": order_id, "seq": entry.seq, "manifestRef": manifest_ref, "receipt": receipt}),
        });
    }
    drafts
}

/// Appends them in the caller's transaction.
pub(crate) async fn record(
    journal: &Journal,
    conn: &mut SqliteConnection,
    order_key: &str,
    order_id: &str,
    side: Party,
    entry: &Entry,
) -> Result<(), RecordError> {
    journal
        .audit
        .append_in(conn, entries(order_key, order_id, side, entry))
        .await
        .map(|_| ())
        .map_err(|e| RecordError::Corrupt(format!("the audit trail refused an order event: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_exchange::OrderState;

    #[test]
    fn a_receipt_is_recorded_twice_as_event_and_as_receipt() {
        let entry = Entry {
            seq: 7,
            sender: Party::Distributor,
            event: Event::DeliveryReceived { manifest_ref: "sha256:ab".into(), receipt: "h.p.s".into() },
            state: OrderState::Delivered,
        };
        let drafts = entries("urn:uuid:o", "PO-1", Party::Lab, &entry);
        assert_eq!(drafts.len(), 2);
        assert_eq!((drafts[0].kind.as_str(), drafts[0].actor.as_str()), ("exchange.event", "the distributor"));
        assert_eq!(drafts[1].kind, EntryKind::DELIVERY_RECEIPT);
        assert_eq!(drafts[1].payload["receipt"], "h.p.s");
        let ours = entries("urn:uuid:o", "PO-1", Party::Distributor, &entry);
        assert_eq!(ours[0].actor, "self");
        let quoted = Entry {
            seq: 2,
            sender: Party::Lab,
            event: Event::Quoted { price: None, proposed_due_date: None, note: None },
            state: OrderState::Quoted,
        };
        assert_eq!(entries("k", "PO-1", Party::Lab, &quoted).len(), 1);
    }
}
