DROP TABLE certificates;
DROP TABLE request_events;
DROP TABLE request_decisions;
DROP TABLE requests;
