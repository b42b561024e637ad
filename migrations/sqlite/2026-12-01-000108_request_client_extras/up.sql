-- What a PVWA client sends with an access request beyond the native fields (AdditionalInfo keys
-- other than "Reference No" and "EmergencyIndication"; UseConnect, ConnectionComponent,
-- ConnectionParams), as a JSON object, shown back in the request's details. NULL: none.
ALTER TABLE requests ADD COLUMN pvwa_extras TEXT;
