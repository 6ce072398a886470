-- What the bridge did with a call's RTP, per direction (JSON: {"caller_to_agent":
-- {"received":..,"relayed":..,"unknown_source":..,...},"agent_to_caller":{...}}); a fixed
-- set of counters, so bounded. NULL for a call that was never bridged.
ALTER TABLE interactions ADD COLUMN media TEXT;
