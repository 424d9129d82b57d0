-- wrk script for scripts/bench.sh: DynamoDB-shaped POST requests (JSON 1.0 body, X-Amz-Target,
-- a well-formed SigV4 Authorization header that a node without --credentials accepts unverified).
-- The nginx stub gets the same requests, so both sides parse the same bytes.
--
--   wrk -t2 -c16 -d10s -s scripts/wrk/dynamo.lua http://127.0.0.1:8765 -- <get|put|mix> <keys> <table>
--
-- Keys are drawn per request, uniformly from key-000000 … key-<keys-1>, in the format
-- `tern bench` pre-loads, so GetItem finds an item. Each wrk thread has its own seed.

local op, keys, tableName = "get", 10000, "tern-bench"
local payload = string.rep("0123456789", 10)  -- 100 bytes: `tern bench --item-bytes 100`
local amzDate = "20260101T000000Z"
local headers = {
    ["Content-Type"] = "application/x-amz-json-1.0",
    ["X-Amz-Date"] = amzDate,
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, "
        .. "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
        .. "Signature=" .. string.rep("0", 64),
}

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("threadNumber", threads)
end

function init(args)
    op = args[1] or op
    keys = tonumber(args[2] or keys)
    tableName = args[3] or tableName
    if op ~= "get" and op ~= "put" and op ~= "mix" then
        error("operation must be get, put or mix, not " .. tostring(op))
    end
    math.randomseed(7919 * (threadNumber or 1))
end

local function key()
    return string.format("key-%06d", math.random(0, keys - 1))
end

local function getItem()
    headers["X-Amz-Target"] = "DynamoDB_20120810.GetItem"
    return wrk.format("POST", "/", headers,
        '{"TableName":"' .. tableName .. '","Key":{"pk":{"S":"' .. key() .. '"}}}')
end

local function putItem()
    headers["X-Amz-Target"] = "DynamoDB_20120810.PutItem"
    return wrk.format("POST", "/", headers,
        '{"TableName":"' .. tableName .. '","Item":{"pk":{"S":"' .. key() .. '"},"data":{"S":"' .. payload .. '"}}}')
end

function request()
    if op == "get" or (op == "mix" and math.random() < 0.5) then
        return getItem()
    end
    return putItem()
end

-- One machine-readable line for bench.sh. Latencies are in microseconds; `status` counts
-- responses that were not 2xx/3xx (any would make the run invalid).
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d socket=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.status, e.connect + e.read + e.write + e.timeout))
end
