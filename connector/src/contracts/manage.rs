//! What people do with negotiations (through the management API): start one from a
//! catalog offer, terminate one, read them and their agreements.

use crate::contracts::ProcessRow;
use passerelle_dsp::client::{TokenRequest, TokenSource};
use passerelle_dsp::message::negotiation::{ContractNegotiationTerminationMessage, ContractRequestMessage};
use passerelle_dsp::message::policy::MessageOffer;
use passerelle_dsp::negotiation::NegotiationMessage;
use passerelle_dsp::process::Role;
use reqwest::header::{ACCEPT, AUTHORIZATION, LINK};
use serde_json::{Value, json};
use url::Url;

use super::host::{queue_negotiation, waiting_for};
use super::records::{AgreementRecord, NegotiationRecord};
use super::{ProcessError, Processes, Termination, new_pid, role_str};
use crate::outbox::{OutboxEntry, entries_for, error_chain, stall_reason};
use crate::store::direct::Db;

/// The most catalog pages read to find an offer by id alone.
const MAX_CATALOG_PAGES: usize = 100;

/// Which offer to request.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferChoice {
    /// A complete ODRL offer with its `target`.
    Full(Value),
    /// An offer of the provider's catalog, fetched from it (from the dataset when its id is given).
    ById { offer_id: String, dataset_id: Option<String> },
}

/// A negotiation to start as consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct NegotiationStart {
    /// The provider's DSP address (`https://provider.example/dsp/2025-1`; a bare base URL gets `/dsp/2025-1`).
    pub counter_party_address: String,
    pub offer: OfferChoice,
}

/// A negotiation with what an operator needs to follow it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NegotiationView {
    #[serde(flatten)]
    pub record: NegotiationRecord,
    /// Why the negotiation is not moving, when it is not.
    pub status: Option<String>,
    pub outbox: Vec<OutboxEntry>,
}

/// The DSP address to send to: `…/dsp/2025-1` added to a bare base URL.
pub fn normalize_address(address: &str) -> Result<String, ProcessError> {
    let trimmed = address.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|e| {
        ProcessError::Invalid(format!(
            "`{address}` is not a URL ({e}): give the provider's DSP address, e.g. https://provider.example/dsp/2025-1"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ProcessError::Invalid(format!("`{address}` must be an http(s) URL")));
    }
    if url.path().is_empty() || url.path() == "/" {
        return Ok(passerelle_dsp::protocol_address(trimmed));
    }
    Ok(trimmed.to_string())
}

impl Processes {
    /// Starts a negotiation as consumer: the request is queued and sent by the outbox.
    pub async fn start_negotiation(&self, start: NegotiationStart) -> Result<NegotiationView, ProcessError> {
        let address = normalize_address(&start.counter_party_address)?;
        let offer = match start.offer {
            OfferChoice::Full(offer) => offer,
            OfferChoice::ById { offer_id, dataset_id } => self.fetch_offer(&address, &offer_id, dataset_id).await?,
        };
        let offer = self.requested_offer(offer)?;
        let pid = new_pid();
        let mut record = NegotiationRecord::new(Role::Consumer, pid.clone());
        record.counterparty_address = Some(address);
        record.dataset_id = Some(offer.target().to_string());
        record.offer = Some(offer.as_value().clone());
        let message: NegotiationMessage = ContractRequestMessage::initial(&pid, offer, self.callback_address()).into();
        // The answer is read in the same transaction: as the store has it, without a read of its own after.
        self.write_sending(|db| {
            let queued = queue_negotiation(db, &mut record, message)?;
            record.save(db, &self.inner.journal)?;
            let saved = NegotiationRecord::load_any(db, &pid)?
                .ok_or_else(|| ProcessError::Store(format!("negotiation `{pid}` was not saved")))?;
            Ok((negotiation_view(db, saved)?, [queued]))
        })
        .await
    }

    /// Our side of the request: the catalog offer with the dataset as `target` and us as `assignee`
    /// (which names us to a provider that cannot authenticate us).
    fn requested_offer(&self, mut offer: Value) -> Result<MessageOffer, ProcessError> {
        let Some(object) = offer.as_object_mut() else {
            return Err(ProcessError::Invalid("the offer must be a JSON object (an ODRL Offer)".into()));
        };
        object.entry("assignee").or_insert_with(|| Value::String(self.inner.participant_id.clone()));
        object.entry("@type").or_insert_with(|| Value::String("Offer".into()));
        MessageOffer::new(offer).map_err(|e| ProcessError::Invalid(format!("the offer cannot be requested: {e}")))
    }

    async fn fetch_offer(
        &self,
        address: &str,
        offer_id: &str,
        dataset_id: Option<String>,
    ) -> Result<Value, ProcessError> {
        let datasets = match dataset_id {
            Some(id) => {
                let url = passerelle_dsp::client::resolve(address, &["catalog".into(), "datasets".into(), id.clone()])
                    .map_err(|e| ProcessError::Invalid(e.to_string()))?;
                vec![self.peer_json(reqwest::Method::GET, url, None).await?.0]
            }
            None => self.catalog_datasets(address, offer_id).await?,
        };
        for dataset in datasets {
            let Some(target) = dataset.get("@id").and_then(Value::as_str) else { continue };
            let offers = match dataset.get("hasPolicy") {
                Some(Value::Array(items)) => items.clone(),
                Some(one @ Value::Object(_)) => vec![one.clone()],
                _ => Vec::new(),
            };
            if let Some(mut offer) = offers.into_iter().find(|o| o.get("@id").and_then(Value::as_str) == Some(offer_id))
            {
                if let Some(object) = offer.as_object_mut() {
                    object.insert("target".into(), Value::String(target.to_string()));
                }
                return Ok(offer);
            }
        }
        Err(ProcessError::Invalid(format!(
            "the provider's catalog at {address} has no offer `{offer_id}`; check the id in its catalog"
        )))
    }

    /// Datasets of the provider's catalog, page by page, until one holds `offer_id`.
    async fn catalog_datasets(&self, address: &str, offer_id: &str) -> Result<Vec<Value>, ProcessError> {
        let mut url = passerelle_dsp::client::resolve(address, &["catalog".into(), "request".into()])
            .map_err(|e| ProcessError::Invalid(e.to_string()))?;
        let body = json!({"@context": [passerelle_dsp::message::DSPACE_CONTEXT], "@type": "CatalogRequestMessage"});
        for _ in 0..MAX_CATALOG_PAGES {
            let (page, next) = self.peer_json(reqwest::Method::POST, url.clone(), Some(&body)).await?;
            let datasets = match page.get("dataset") {
                Some(Value::Array(items)) => items.clone(),
                Some(one @ Value::Object(_)) => vec![one.clone()],
                _ => Vec::new(),
            };
            let holds = |d: &Value| {
                d.get("hasPolicy").map(|p| p.to_string().contains(&format!("\"{offer_id}\""))).unwrap_or(false)
            };
            if datasets.iter().any(holds) {
                return Ok(datasets.into_iter().filter(holds).collect());
            }
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        Ok(Vec::new())
    }

    /// A JSON exchange with a provider's catalog, with our DSP token; also returns the `next` page link.
    async fn peer_json(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<(Value, Option<Url>), ProcessError> {
        let token = self
            .inner
            .tokens
            .authorization(TokenRequest { url: &url, audience: None })
            .await
            .map_err(|e| ProcessError::Peer(e.to_string()))?;
        let mut request = self.inner.http.request(method, url.clone()).header(ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| ProcessError::Peer(format!("{url}: {}", error_chain(&e))))?;
        let status = response.status();
        let next = response
            .headers()
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|link| {
                let (target, params) = link.split_once(';')?;
                params
                    .contains("rel=\"next\"")
                    .then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
            })
            .and_then(|n| url.join(&n).ok());
        let text = response.text().await.map_err(|e| ProcessError::Peer(format!("{url}: {e}")))?;
        if !status.is_success() {
            let excerpt: String = text.chars().take(300).collect();
            return Err(ProcessError::Peer(format!("{url} answered HTTP {status}: {excerpt}")));
        }
        let value =
            serde_json::from_str(&text).map_err(|e| ProcessError::Peer(format!("{url} did not answer JSON: {e}")))?;
        Ok((value, next))
    }

    /// Terminates a negotiation from our side (either role).
    pub async fn terminate_negotiation(
        &self,
        pid: &str,
        reason: Option<String>,
    ) -> Result<NegotiationView, ProcessError> {
        self.write_sending(|db| {
            let mut record = NegotiationRecord::load_any(db, pid)?
                .ok_or_else(|| ProcessError::NotFound { kind: "negotiation", id: pid.to_string() })?;
            let (Some(provider_pid), Some(consumer_pid)) =
                (record.provider_pid().map(str::to_string), record.consumer_pid().map(str::to_string))
            else {
                return Err(ProcessError::Conflict(format!(
                    "negotiation `{pid}` has no {} pid yet (not acknowledged); retry in a moment",
                    record.side.counterpart()
                )));
            };
            let reason = reason.unwrap_or_else(|| format!("terminated by the {}'s operator", record.side));
            let message = ContractNegotiationTerminationMessage::new(provider_pid, consumer_pid)
                .with_code("TERMINATED_BY_OPERATOR")
                .with_reason(reason.clone());
            record.termination = Some(Termination {
                by: role_str(record.side).to_string(),
                code: Some("TERMINATED_BY_OPERATOR".into()),
                reason: vec![reason],
            });
            let queued = queue_negotiation(db, &mut record, message.into())?;
            record.save(db, &self.inner.journal)?;
            Ok(((), [queued]))
        })
        .await?;
        self.changed(pid);
        self.negotiation(pid).await
    }

    /// One negotiation (by our pid) with its outbox and why it is stalled.
    pub async fn negotiation(&self, pid: &str) -> Result<NegotiationView, ProcessError> {
        self.read(|db| {
            let record = NegotiationRecord::load_any(db, pid)?
                .ok_or_else(|| ProcessError::NotFound { kind: "negotiation", id: pid.to_string() })?;
            negotiation_view(db, record)
        })
        .await
    }

    /// Every negotiation, newest first.
    pub async fn negotiations(&self) -> Result<Vec<NegotiationView>, ProcessError> {
        self.read(|db| NegotiationRecord::list(db)?.into_iter().map(|record| negotiation_view(db, record)).collect())
            .await
    }

    /// Every agreement, newest first.
    pub async fn agreements(&self) -> Result<Vec<AgreementRecord>, ProcessError> {
        self.read(AgreementRecord::list).await
    }

    pub async fn agreement(&self, id: &str) -> Result<AgreementRecord, ProcessError> {
        self.read(|db| AgreementRecord::load(db, id, None))
            .await?
            .ok_or_else(|| ProcessError::NotFound { kind: "agreement", id: id.to_string() })
    }
}

fn negotiation_view(db: &Db, record: NegotiationRecord) -> Result<NegotiationView, ProcessError> {
    let outbox = entries_for(db, &record.pid)?;
    let status = stall_reason(&outbox).or_else(|| record.last_error.clone()).or_else(|| waiting_for(&record));
    Ok(NegotiationView { record, status, outbox })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_the_protocol_path_when_bare() {
        assert_eq!(normalize_address("http://127.0.0.1:9/").unwrap(), "http://127.0.0.1:9/dsp/2025-1");
        assert_eq!(normalize_address("https://p.example/dsp/2025-1/").unwrap(), "https://p.example/dsp/2025-1");
        assert!(normalize_address("not a url").is_err());
        assert!(normalize_address("ftp://p.example").is_err());
    }
}
