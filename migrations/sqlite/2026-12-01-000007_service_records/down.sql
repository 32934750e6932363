DROP TABLE service_records;
DROP TABLE earning_rules;
DROP TABLE activities;
