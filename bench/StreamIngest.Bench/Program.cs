// bench ingest | query | relevance | api | watches: each run ends with one JSON line; progress goes to stderr.
return await StreamIngest.Bench.BenchCommand.RunAsync(args is ["bench", .. var rest] ? rest : args);
