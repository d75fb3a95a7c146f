//! Text and JSON reports of contracts, negotiations and transfers for the command line
//! (`passerelle contracts list|show`, `passerelle negotiations`, `passerelle transfers`).

use std::fmt::Write;

use serde_json::json;

use super::{ProcessError, Processes};

/// Lays out rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

fn pretty(value: &impl serde::Serialize) -> Result<String, ProcessError> {
    serde_json::to_string_pretty(value).map_err(|e| ProcessError::Store(e.to_string()))
}

impl Processes {
    /// `passerelle contracts list`: every agreement with the state of its negotiation.
    pub async fn contracts_report(&self, as_json: bool) -> Result<String, ProcessError> {
        let agreements = self.agreements().await?;
        if as_json {
            return pretty(&json!({ "items": agreements }));
        }
        if agreements.is_empty() {
            return Ok("no agreements yet: start a negotiation with POST /api/v1/negotiations\n".into());
        }
        let mut rows = Vec::new();
        for a in &agreements {
            let state = match self.negotiation(&a.negotiation_pid).await {
                Ok(n) => n.record.state.to_string(),
                Err(_) => "-".into(),
            };
            rows.push(vec![
                a.id.clone(),
                a.side.clone(),
                a.target.clone(),
                a.assigner.clone(),
                a.assignee.clone(),
                state,
                a.timestamp.clone(),
            ]);
        }
        Ok(table(&["AGREEMENT", "SIDE", "DATASET", "ASSIGNER", "ASSIGNEE", "NEGOTIATION", "SIGNED"], &rows))
    }

    /// `passerelle contracts show ID`: an agreement (by id) or a negotiation (by pid), with history.
    pub async fn contract_report(&self, id: &str, as_json: bool) -> Result<String, ProcessError> {
        let (agreement, negotiation) = match self.agreement(id).await {
            Ok(a) => {
                let n = self.negotiation(&a.negotiation_pid).await?;
                (Some(a), n)
            }
            Err(ProcessError::NotFound { .. }) => {
                let n = self
                    .negotiation(id)
                    .await
                    .map_err(|_| ProcessError::NotFound { kind: "agreement or negotiation", id: id.to_string() })?;
                let a = match &n.record.agreement_id {
                    Some(aid) => self.agreement(aid).await.ok(),
                    None => None,
                };
                (a, n)
            }
            Err(e) => return Err(e),
        };
        // What the console's contract page shows, so an operator without a browser sees the same: the policy
        // in English beside the ODRL, who the counter-party is and whether DCP verified it, the transfers.
        let english = agreement.as_ref().map(|a| policy_in_english(&a.agreement));
        let transfers = match &agreement {
            Some(a) => self.transfers_under(&a.id).await?,
            None => Vec::new(),
        };
        let orders = match &agreement {
            Some(a) => crate::exchange::Orders::new(self.clone())
                .under_agreement(&a.id)
                .await
                .map_err(|e| ProcessError::Store(e.to_string()))?,
            None => Vec::new(),
        };
        let counterparty =
            agreement.as_ref().map(|a| if a.side == "provider" { a.assignee.as_str() } else { a.assigner.as_str() });
        let verified = negotiation.record.counterparty_id.as_deref().filter(|id| !id.is_empty());
        if as_json {
            let (policy_english, policy_problem) = match &english {
                Some(Ok(text)) => (Some(text.as_str()), None),
                Some(Err(problem)) => (None, Some(problem.as_str())),
                None => (None, None),
            };
            let transfers: Vec<_> =
                transfers.iter().map(|t| json!({ "transfer": t.record, "status": t.status })).collect();
            return pretty(&json!({
                "agreement": agreement,
                "policyInEnglish": policy_english,
                "policyProblem": policy_problem,
                "counterparty": { "id": counterparty, "verifiedId": verified },
                "negotiation": negotiation,
                "transfers": transfers,
                "orders": orders,
            }));
        }
        let mut out = String::new();
        let r = &negotiation.record;
        if let Some(a) = &agreement {
            let _ = writeln!(out, "agreement   {}", a.id);
            let _ = writeln!(out, "dataset     {}", a.target);
            let _ = writeln!(out, "assigner    {}", a.assigner);
            let _ = writeln!(out, "assignee    {}", a.assignee);
            let _ = writeln!(out, "signed      {}", a.timestamp);
        }
        if let Some(other) = counterparty {
            let _ = writeln!(out, "other party {other}");
        }
        let _ = match verified {
            Some(id) => writeln!(out, "verified id {id} (verified by DCP when the negotiation started)"),
            None => writeln!(out, "verified id - (no authentication was in place: DCP off)"),
        };
        match &english {
            Some(Ok(text)) => {
                let _ = writeln!(out, "policy");
                for line in text.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
            Some(Err(problem)) => {
                let _ = writeln!(out, "policy      cannot be read as ODRL: {problem}");
            }
            None => {}
        }
        let _ = writeln!(out, "negotiation {} ({}, {})", r.pid, r.side, r.state);
        if let Some(other) = &r.counterparty_pid {
            let _ = writeln!(out, "their pid   {other}");
        }
        if let Some(address) = &r.counterparty_address {
            let _ = writeln!(out, "address     {address}");
        }
        if let Some(t) = &r.termination {
            let _ =
                writeln!(out, "ended by    {} ({}): {}", t.by, t.code.as_deref().unwrap_or("-"), t.reason.join("; "));
        }
        if let Some(status) = &negotiation.status {
            let _ = writeln!(out, "status      {status}");
        }
        let _ = writeln!(out, "history");
        let rows: Vec<Vec<String>> = r
            .history
            .iter()
            .map(|s| vec![s.at.clone(), s.sender.clone(), s.message.clone(), s.state.clone()])
            .collect();
        out.push_str(&table(&["  AT", "FROM", "MESSAGE", "STATE"], &indent(rows)));
        if agreement.is_some() {
            if transfers.is_empty() {
                let _ = writeln!(out, "transfers   none yet");
            } else {
                let _ = writeln!(out, "transfers");
                let rows: Vec<Vec<String>> = transfers
                    .iter()
                    .map(|t| {
                        vec![
                            t.record.pid.clone(),
                            t.record.side.to_string(),
                            t.record.state.to_string(),
                            t.record.format.clone(),
                            t.status.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["  TRANSFER", "SIDE", "STATE", "FORMAT", "STATUS"], &indent(rows)));
            }
            if !orders.is_empty() {
                let _ = writeln!(out, "subtitle orders (details: passerelle orders show ID)");
                let rows: Vec<Vec<String>> = orders
                    .iter()
                    .map(|o| {
                        let state = o.state["state"].as_str().unwrap_or("?");
                        let stage = o.state["stage"].as_str().map(|s| format!("({s})")).unwrap_or_default();
                        vec![o.id.clone(), o.order_id.clone(), o.side.to_string(), format!("{state}{stage}")]
                    })
                    .collect();
                out.push_str(&table(&["  ORDER", "REFERENCE", "SIDE", "STATE"], &indent(rows)));
            }
            let _ = writeln!(out, "(the agreement as ODRL: add --json)");
        }
        Ok(out)
    }

    /// The transfers under agreement `id` (data-address tokens redacted, as in every view).
    async fn transfers_under(&self, id: &str) -> Result<Vec<crate::transfers::TransferView>, ProcessError> {
        let mut all = self.transfers().await?;
        all.retain(|t| t.record.agreement_id == id);
        Ok(all)
    }

    /// `passerelle negotiations`: every negotiation with its state and status.
    pub async fn negotiations_report(&self, as_json: bool) -> Result<String, ProcessError> {
        let items = self.negotiations().await?;
        if as_json {
            return pretty(&json!({ "items": items }));
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|n| {
                let r = &n.record;
                vec![
                    r.pid.clone(),
                    r.side.to_string(),
                    r.state.to_string(),
                    r.dataset_id.clone().unwrap_or_default(),
                    n.status.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Ok(table(&["NEGOTIATION", "SIDE", "STATE", "DATASET", "STATUS"], &rows))
    }

    /// `passerelle transfers`: every transfer with its state and status.
    pub async fn transfers_report(&self, as_json: bool) -> Result<String, ProcessError> {
        let items = self.transfers().await?;
        if as_json {
            return pretty(&json!({ "items": items }));
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|t| {
                let r = &t.record;
                vec![
                    r.pid.clone(),
                    r.side.to_string(),
                    r.state.to_string(),
                    r.format.clone(),
                    r.agreement_id.clone(),
                    t.status.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Ok(table(&["TRANSFER", "SIDE", "STATE", "FORMAT", "AGREEMENT", "STATUS"], &rows))
    }
}

/// The agreement's policy in English, or why it cannot be read. Agreements come from peers too: read leniently,
/// so terms outside our profile still show.
fn policy_in_english(agreement: &serde_json::Value) -> Result<String, String> {
    passerelle_policy::Policy::from_peer_json(agreement)
        .map(|policy| passerelle_policy::describe(&policy))
        .map_err(|e| e.to_string())
}

fn indent(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|mut row| {
            if let Some(first) = row.first_mut() {
                *first = format!("  {first}");
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["urn:a:1".to_string(), "provider".to_string()], vec!["x".into(), "consumer".into()]];
        let text = table(&["ID", "SIDE"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["ID       SIDE", "urn:a:1  provider", "x        consumer"]);
    }
}
