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
        if as_json {
            return pretty(&json!({ "agreement": agreement, "negotiation": negotiation }));
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
        Ok(out)
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
