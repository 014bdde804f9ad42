#!/bin/bash
# The derailment transcript of docs/decisions/0009: ./ask.sh PORT against a host holding make_replay.py's posts.
for w in P7D P60D; do
  echo "--- POST /v1/ground {question: 'What caused the train derailment?', window: $w, k: 5}"
  curl -s -X POST http://127.0.0.1:$1/v1/ground -H 'content-type: application/json' -d "{\"question\":\"What caused the train derailment?\",\"window\":\"$w\",\"k\":5}" | python3 -c "
import json,sys,re; d=json.load(sys.stdin)
print('    abstention:', json.dumps(d.get('abstention')))
texts=re.findall(r'text:\n(.*?)\n<<<END', d['context'], re.S)
for c,t in zip(d.get('citations',[]),texts): print('    [%s] %s %s' % (c['n'], c['created_at'][:10], t[:110].replace(chr(10),' ')))
"
  echo "--- POST /v1/chat/completions {model: streamingest, messages: [user: 'What caused the train derailment?'], streamingest: {window: $w}}"
  curl -s -X POST http://127.0.0.1:$1/v1/chat/completions -H 'content-type: application/json' -d "{\"model\":\"streamingest\",\"messages\":[{\"role\":\"user\",\"content\":\"What caused the train derailment?\"}],\"streamingest\":{\"window\":\"$w\"}}" | python3 -c "
import json,sys; d=json.load(sys.stdin)
s=d.get('streamingest',{}); print('    streamingest:', json.dumps({k:(v if not isinstance(v,list) else '%d items' % len(v)) for k,v in s.items()})[:400])
a=d['choices'][0]['message']['content']; i=a.find('last user turn begins:'); print('    what the model was given:', a[i+23:i+23+260].replace(chr(10),' '))
"
done
