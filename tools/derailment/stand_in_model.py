# A stand-in for the upstream model (no model runs here): it answers with what it was told, so the transcript shows
# the grounding the service sent. Speaks the OpenAI chat completions wire format.
import json, http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        sys_msgs = [m["content"] for m in body["messages"] if m["role"] == "system"]
        user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        content = "[stand-in model] system says: " + " | ".join(s if isinstance(s, str) else str(s) for s in sys_msgs)[-400:] + " || last user turn begins: " + (user if isinstance(user, str) else json.dumps(user))[:300]
        resp = {"id": "chatcmpl-local", "object": "chat.completion", "created": 0, "model": body.get("model", "local"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(resp).encode()
        self.send_response(200); self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 5098), H).serve_forever()
