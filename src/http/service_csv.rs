//! An event's attendance as a spreadsheet (`text/csv`): one service record a
//! row, read into the same requests as a JSON batch, so each row gets the same
//! answer a JSON record would. UTF-8, with or without a byte-order mark.
//!
//! Columns, named by the header row in any order: `volunteer` (a volunteer id
//! or a member card number), `activity_id`, `started_at`, `ended_at` or
//! `minutes`, and optionally `organisation_id`, `note` and `client_id`.
//! Times are RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in the scheme's time zone.
//! A row without `client_id` gets one made from its content, so the same
//! sheet uploaded twice credits no one twice.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

use crate::app::service_records::RecordServiceRequest;
use crate::domain::{Note, VolunteerId};
use crate::error::AppError;

const COLUMNS: &[&str] = &[
    "volunteer",
    "activity_id",
    "started_at",
    "ended_at",
    "minutes",
    "organisation_id",
    "note",
    "client_id",
];
/// The namespace of the client ids made from a row's content.
const ROW_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5d1c_2f7e_8a4b_4c6d_9e0f_1a2b_3c4d_5e6f);

/// Every row of the sheet, read on its own.
pub fn read(
    body: &[u8],
    zone: FixedOffset,
) -> Result<Vec<Result<RecordServiceRequest, AppError>>, AppError> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    if std::str::from_utf8(body).is_err() {
        return Err(AppError::invalid_field(
            "body",
            "a CSV sheet must be UTF-8 (save it as \"CSV UTF-8\")",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::invalid_field("body", format!("no header row: {e}")))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(AppError::invalid_field(
            "body",
            format!(
                "unknown column {unknown:?}; the columns are {}",
                COLUMNS.join(", ")
            ),
        ));
    }
    for required in ["volunteer", "activity_id", "started_at"] {
        if !headers.iter().any(|h| h == required) {
            return Err(AppError::invalid_field(
                "body",
                format!("the header row lacks the {required} column"),
            ));
        }
    }
    Ok(reader
        .records()
        .enumerate()
        .map(|(i, row)| {
            let row = row.map_err(|e| {
                AppError::invalid_field(format!("records[{i}]"), format!("unreadable row: {e}"))
            })?;
            if row.len() != headers.len() {
                return Err(AppError::invalid_field(
                    format!("records[{i}]"),
                    format!("{} cells where the header has {}", row.len(), headers.len()),
                ));
            }
            let cells = headers
                .iter()
                .map(String::as_str)
                .zip(row.iter())
                .filter(|(_, v)| !v.is_empty());
            request(i, cells, zone)
        })
        .collect())
}

fn request<'a>(
    index: usize,
    cells: impl Iterator<Item = (&'a str, &'a str)>,
    zone: FixedOffset,
) -> Result<RecordServiceRequest, AppError> {
    let invalid = |column: &str, message: &str| {
        AppError::invalid_field(format!("records[{index}].{column}"), message.to_string())
    };
    let mut volunteer = None;
    let (mut activity, mut started, mut ended, mut minutes) = (None, None, None, None);
    let (mut organisation, mut note, mut client_id) = (None, None, None);
    let mut content = Vec::new();
    for (column, value) in cells {
        if column != "client_id" {
            content.push(format!("{column}={value}"));
        }
        match column {
            "volunteer" => volunteer = Some(value),
            "activity_id" => {
                activity = Some(
                    value
                        .parse()
                        .map_err(|_| invalid(column, "not an activity id"))?,
                )
            }
            "started_at" => started = Some(time(value, zone).ok_or_else(|| invalid(column, TIME))?),
            "ended_at" => ended = Some(time(value, zone).ok_or_else(|| invalid(column, TIME))?),
            "minutes" => {
                minutes = Some(
                    value
                        .parse()
                        .map_err(|_| invalid(column, "whole minutes, 1 to 1440"))?,
                )
            }
            "organisation_id" => {
                organisation = Some(
                    value
                        .parse()
                        .map_err(|_| invalid(column, "not an organisation id"))?,
                )
            }
            "note" => note = Some(Note::parse(value).map_err(|rule| invalid(column, rule))?),
            _ => client_id = Some(value.parse().map_err(|_| invalid(column, "not a UUID"))?),
        }
    }
    let volunteer =
        volunteer.ok_or_else(|| invalid("volunteer", "a volunteer id or card number"))?;
    let (volunteer_id, card_number) = match volunteer.parse::<VolunteerId>() {
        Ok(id) => (Some(id), None),
        Err(_) => (None, Some(volunteer.to_string())),
    };
    Ok(RecordServiceRequest {
        volunteer_id,
        card_number,
        activity_id: activity.ok_or_else(|| invalid("activity_id", "required"))?,
        organisation_id: organisation,
        started_at: started.ok_or_else(|| invalid("started_at", "required"))?,
        ended_at: ended,
        minutes,
        note,
        client_id: Some(client_id.unwrap_or_else(|| {
            uuid::Uuid::new_v5(&ROW_NAMESPACE, content.join("\u{1f}").as_bytes())
        })),
    })
}

const TIME: &str = "a time such as 2026-03-14T09:00:00+08:00 or 2026-03-14 09:00";

/// RFC 3339, or a spreadsheet's local time in the scheme's zone.
fn time(value: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
    .and_then(|local| zone.from_local_datetime(&local).single())
    .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn rows_read_with_or_without_a_bom_and_in_local_time() {
        let sheet = "\u{feff}volunteer,activity_id,started_at,minutes,note\n\
                     GL0001,0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21,2026-03-14 09:00,90,\"扫地, 擦窗\"\n";
        let rows = read(sheet.as_bytes(), china()).unwrap();
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.card_number.as_deref(), Some("GL0001"));
        assert_eq!(row.started_at.to_rfc3339(), "2026-03-14T01:00:00+00:00");
        assert_eq!(row.minutes, Some(90));
        assert_eq!(row.note.as_deref(), Some("扫地, 擦窗"));
        // The same row makes the same client id; another row another.
        let again = read(&sheet.as_bytes()[3..], china()).unwrap();
        assert_eq!(again[0].as_ref().unwrap().client_id, row.client_id);
    }

    #[test]
    fn bad_rows_fail_alone_and_bad_sheets_whole() {
        let sheet = "volunteer,activity_id,started_at,minutes\n\
                     GL0001,not-an-id,2026-03-14 09:00,90\n\
                     GL0002,0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21,yesterday,90\n\
                     GL0003,0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21\n";
        let rows = read(sheet.as_bytes(), china()).unwrap();
        let fields: Vec<String> = rows
            .iter()
            .map(|r| r.as_ref().unwrap_err().errors[0].field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "records[0].activity_id",
                "records[1].started_at",
                "records[2]"
            ]
        );
        assert!(read(b"who,activity_id,started_at\n", china()).is_err());
        assert!(read(b"volunteer,started_at\n", china()).is_err());
        assert!(read(b"volunteer,activity_id,started_at\n\xff\n", china()).is_err());
    }
}
