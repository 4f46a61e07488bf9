from src.server import handle


def test_lists_and_calls_echo():
    tools = handle({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})["result"]["tools"]
    assert [t["name"] for t in tools] == ["echo"]
    reply = handle({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hi"}}})
    assert reply["result"]["content"][0]["text"] == "hi"


def test_unknown_method():
    assert handle({"jsonrpc": "2.0", "id": 3, "method": "nope"})["error"]["code"] == -32601
