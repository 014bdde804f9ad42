using System.Globalization;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Miscellaneous;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Bench.Peers;

/// <summary>A BM25 keyword index under test, asked the question's subject words (<see cref="FtsQuery.Words"/>) OR-ed.</summary>
internal interface IKeywordPeer : IDisposable
{
    string Name { get; }

    /// <summary>Bytes the index keeps on disk (memory-mapped), beside the managed heap measured around the build.</summary>
    long DiskBytes { get; }

    void Build(IReadOnlyList<PeerDoc> docs);

    void Add(PeerDoc doc);

    void Remove(PeerDoc doc);

    /// <summary>Drops every post created before <paramref name="beforeMs"/> (<paramref name="expired"/> lists them).</summary>
    void Purge(long beforeMs, IReadOnlyList<PeerDoc> expired);

    /// <summary>Makes the changes so far visible to the next search.</summary>
    void Refresh();

    IReadOnlyList<long> Search(string question, int k, long sinceMs, long untilMs);
}

/// <summary>Ours: the in-memory keyword index the embedded store searches, asked as the retriever asks it.</summary>
internal sealed class OursKeywordPeer : IKeywordPeer
{
    private readonly KeywordIndex _index = new();

    public string Name => "ours_bm25";

    public long DiskBytes => 0;

    public void Build(IReadOnlyList<PeerDoc> docs)
    {
        foreach (var d in docs)
        {
            Add(d);
        }
    }

    public void Add(PeerDoc doc) => _index.Upsert(Key(doc.Key), doc.Key, doc.CreatedMs, "x", doc.Lang, doc.Text);

    public void Remove(PeerDoc doc) => _index.Remove(Key(doc.Key), doc.Text, doc.Lang);

    public void Purge(long beforeMs, IReadOnlyList<PeerDoc> expired)
    {
        foreach (var d in expired)
        {
            Remove(d);
        }
    }

    public void Refresh()
    {
    }

    public IReadOnlyList<long> Search(string question, int k, long sinceMs, long untilMs)
    {
        var terms = FtsQuery.Terms(question);
        return terms.Count == 0 ? [] : [.. _index.Search(terms, k, new VectorFilter(sinceMs, untilMs)).Select(h => h.RowId)];
    }

    public void Dispose()
    {
    }

    private static string Key(long key) => key.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Lucene.NET 4.8 on a memory-mapped directory, with the analysis ours has for English (standard tokenizer, lower
/// case, ASCII folding, Porter), BM25 with the same k1 and b, a numeric range filter for the window, and a near-real-time
/// searcher refreshed after each batch of writes (what a live index needs to see new posts).
/// </summary>
internal sealed class LuceneKeywordPeer : IKeywordPeer
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private readonly string _path;
    private readonly FSDirectory _directory;
    private readonly Analyzer _analyzer;
    private readonly IndexWriter _writer;
    private readonly SearcherManager _searchers;

    public LuceneKeywordPeer(string path)
    {
        _path = path;
        _directory = FSDirectory.Open(path);
        _analyzer = Analyzer.NewAnonymous((_, reader) =>
        {
            var source = new StandardTokenizer(Version, reader);
            TokenStream stream = new LowerCaseFilter(Version, source);
            stream = new ASCIIFoldingFilter(stream);
            stream = new PorterStemFilter(stream);
            return new TokenStreamComponents(source, stream);
        });
        var similarity = new BM25Similarity((float)KeywordIndex.K1, (float)KeywordIndex.B);
        _writer = new IndexWriter(_directory, new IndexWriterConfig(Version, _analyzer) { Similarity = similarity, OpenMode = OpenMode.CREATE, RAMBufferSizeMB = 64 });
        _searchers = new SearcherManager(_writer, applyAllDeletes: true, new Bm25Searchers(similarity));
    }

    public string Name => "lucene_bm25";

    public long DiskBytes => new DirectoryInfo(_path).EnumerateFiles().Sum(f => f.Length);

    public void Build(IReadOnlyList<PeerDoc> docs)
    {
        foreach (var d in docs)
        {
            Add(d);
        }

        _writer.Commit();
        Refresh();
    }

    public void Add(PeerDoc doc) => _writer.AddDocument(
    [
        new StringField("id", doc.Key.ToString(CultureInfo.InvariantCulture), Field.Store.YES),
        new Int64Field("created", doc.CreatedMs, Field.Store.NO),
        new TextField("text", doc.Text, Field.Store.NO),
    ]);

    public void Remove(PeerDoc doc) => _writer.DeleteDocuments(new Term("id", doc.Key.ToString(CultureInfo.InvariantCulture)));

    public void Purge(long beforeMs, IReadOnlyList<PeerDoc> expired) =>
        _writer.DeleteDocuments(NumericRangeQuery.NewInt64Range("created", null, beforeMs, true, false));

    public void Refresh() => _searchers.MaybeRefresh();

    public IReadOnlyList<long> Search(string question, int k, long sinceMs, long untilMs)
    {
        var query = new BooleanQuery();
        foreach (var word in FtsQuery.Words(question))
        {
            foreach (var term in Analyze(word))
            {
                query.Add(new TermQuery(new Term("text", term)), Occur.SHOULD);
            }
        }

        if (query.Clauses.Count == 0)
        {
            return [];
        }

        var filter = sinceMs == long.MinValue && untilMs == long.MaxValue ? null : NumericRangeFilter.NewInt64Range("created", sinceMs, untilMs, true, true);
        var searcher = _searchers.Acquire();
        try
        {
            var top = searcher.Search(query, filter, k);
            return [.. top.ScoreDocs.Select(d => long.Parse(searcher.Doc(d.Doc).Get("id"), CultureInfo.InvariantCulture))];
        }
        finally
        {
            _searchers.Release(searcher);
        }
    }

    public void Dispose()
    {
        _searchers.Dispose();
        _writer.Dispose();
        _analyzer.Dispose();
        _directory.Dispose();
    }

    private List<string> Analyze(string word)
    {
        var terms = new List<string>(1);
        using var stream = _analyzer.GetTokenStream("text", word);
        var term = stream.AddAttribute<ICharTermAttribute>();
        stream.Reset();
        while (stream.IncrementToken())
        {
            terms.Add(term.ToString());
        }

        stream.End();
        return terms;
    }

    private sealed class Bm25Searchers(Similarity similarity) : SearcherFactory
    {
        public override IndexSearcher NewSearcher(IndexReader reader) => new(reader) { Similarity = similarity };
    }
}
