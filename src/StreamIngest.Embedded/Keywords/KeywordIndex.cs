using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Embedded.Keywords;

/// <summary>
/// In-memory inverted index over post text, ranked by BM25 exactly as SQLite FTS5's <c>bm25()</c> computes it
/// (k1 1.2, b 0.75, idf <c>ln((N − n + 0.5) / (n + 0.5))</c>, at least 1e-6), answering top-k with MaxScore
/// (Turtle and Flood, 1995): once k documents are held, the words whose best possible contribution together cannot
/// beat the k-th score stop driving the scan and are only looked up (by galloping search) in the documents the other
/// words bring. A question with a very common word ("people", "help") then reads the postings of its rare words and
/// probes the common one, where FTS5 scores every row that contains it.
/// <para>
/// SQLite stays the durable record: the index is built from it at start and kept in step after each committed write.
/// Documents are numbered in arrival order (postings stay sorted by appending); a replaced or removed document is
/// left as a tombstone, and the postings are compacted once tombstones outnumber a quarter of the live documents.
/// Each word's count of live documents (BM25's n) stays exact when the caller gives the text being removed or
/// replaced (the store reads it back as it deletes); without it the count is corrected at the next compaction.
/// Thread-safe: many concurrent searches, writes serialised.
/// </para>
/// </summary>
public sealed class KeywordIndex
{
    public const double K1 = 1.2;
    public const double B = 0.75;

    private const int MinTombstonesToCompact = 16_384;

    private readonly Dictionary<string, Postings> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _docByKey = new(StringComparer.Ordinal);
    private readonly NameCodes _codes = new();
    private readonly ReaderWriterLockSlim _lock = new();
    private Doc[] _docs = new Doc[1024];
    private int _count;
    private int _live;
    private long _liveLength;

    /// <summary>Documents that can be found.</summary>
    public int Count => Volatile.Read(ref _live);

    /// <summary>Small integer for a source or language name, as the filter takes it (-2: never seen; <c>short.MinValue</c>: none).</summary>
    public short CodeOf(string? name) => _codes.CodeOf(name);

    public bool Contains(string key)
    {
        _lock.EnterReadLock();
        try
        {
            return _docByKey.ContainsKey(key);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Adds the document, or replaces the one held under <paramref name="key"/> (its words are indexed again only when
    /// the text changed; <paramref name="previousText"/>, the text it held, keeps the word counts exact).
    /// </summary>
    public void Upsert(string key, long rowId, long createdMs, string source, string? lang, string text, string? previousText = null)
    {
        // Words are found and counted before the write lock is taken: searches wait only for the index's own updates.
        var (words, wordCount) = KeywordTokens.Index(text, lang);
        var counts = words.GroupBy(w => w, StringComparer.Ordinal).Select(g => (Word: g.Key, Tf: (byte)Math.Min(g.Count(), byte.MaxValue))).ToArray();
        var hash = RemovedText.HashOf(text, lang);
        // The text held before is taken to be in the same language; if it was not, its word counts are corrected at the next compaction.
        var previous = string.Equals(previousText, text, StringComparison.Ordinal) ? null : RemovedText.Of(previousText, lang); // same text: kept as it is
        _lock.EnterWriteLock();
        try
        {
            var sourceCode = _codes.Add(source);
            var langCode = _codes.Add(lang);
            if (_docByKey.TryGetValue(key, out var existing) && _docs[existing].TextHash == hash && _docs[existing].Length == Math.Min(wordCount, ushort.MaxValue))
            {
                ref var same = ref _docs[existing];
                same = same with { RowId = rowId, CreatedMs = createdMs, Source = sourceCode, Lang = langCode };
                return;
            }

            if (_docByKey.TryGetValue(key, out existing))
            {
                Tombstone(existing, previous);
            }

            if (_count == _docs.Length)
            {
                Array.Resize(ref _docs, _docs.Length * 2);
            }

            var doc = _count++;
            var length = (ushort)Math.Min(wordCount, ushort.MaxValue);
            _docs[doc] = new Doc(key, rowId, createdMs, sourceCode, langCode, length, hash);
            _docByKey[key] = doc;
            _live++;
            _liveLength += length;
            foreach (var (word, tf) in counts)
            {
                if (!_terms.TryGetValue(word, out var postings))
                {
                    _terms[word] = postings = new Postings();
                }

                postings.Add(doc, tf);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Forgets the document; <paramref name="text"/> and <paramref name="lang"/>, what it held, keep the word counts exact.</summary>
    public bool Remove(string key, string? text = null, string? lang = null)
    {
        var removed = RemovedText.Of(text, lang);
        _lock.EnterWriteLock();
        try
        {
            if (!_docByKey.Remove(key, out var doc))
            {
                return false;
            }

            Tombstone(doc, removed);
            var tombstones = _count - _live;
            if (tombstones >= MinTombstonesToCompact && tombstones > _live / 4)
            {
                Compact();
            }

            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// The <paramref name="k"/> documents with the highest BM25 for <paramref name="words"/> (OR-ed) that pass the
    /// filter (its source and language codes from <see cref="CodeOf"/>), best first; the score is positive, higher is better.
    /// </summary>
    public IReadOnlyList<(long RowId, string Key, double Score)> Search(IReadOnlyList<string> words, int k, VectorFilter filter) =>
        Search([.. words.Distinct(StringComparer.Ordinal).Select(w => new[] { w })], k, filter);

    /// <summary>
    /// As <see cref="Search(IReadOnlyList{string}, int, VectorFilter)"/>, for query words each given in several forms (the
    /// stems different languages index it as, <see cref="KeywordTokens.QueryForms"/>): a word's forms count as one term,
    /// whose documents are those of any form and whose BM25 weight comes from all of them together (as a synonym does in
    /// Lucene), so a rare form found in a few posts of another language does not outweigh the word itself.
    /// </summary>
    public IReadOnlyList<(long RowId, string Key, double Score)> Search(IReadOnlyList<IReadOnlyList<string>> words, int k, VectorFilter filter)
    {
        _lock.EnterReadLock();
        try
        {
            if (_live == 0 || k <= 0)
            {
                return [];
            }

            var avgLength = Math.Max(1.0, (double)_liveLength / _live);
            var terms = words
                .Select(TermFor)
                .OfType<Term>()
                .OrderBy(t => t.UpperBound) // ascending: the cheapest words are the first to stop driving the scan
                .ToArray();
            if (terms.Length == 0)
            {
                return [];
            }

            // bound[i]: the most words 0..i can add together.
            var bound = new double[terms.Length];
            for (var i = 0; i < terms.Length; i++)
            {
                bound[i] = terms[i].UpperBound + (i > 0 ? bound[i - 1] : 0);
            }

            var top = new PriorityQueue<int, double>(k + 1);
            var threshold = 0.0;
            var firstEssential = 0;
            while (true)
            {
                var doc = int.MaxValue;
                for (var i = firstEssential; i < terms.Length; i++)
                {
                    doc = Math.Min(doc, terms[i].Doc);
                }

                if (doc == int.MaxValue)
                {
                    break;
                }

                var passes = Passes(doc, filter);
                var score = 0.0;
                for (var i = firstEssential; i < terms.Length; i++)
                {
                    var t = terms[i];
                    if (t.Doc == doc)
                    {
                        if (passes)
                        {
                            score += t.Score(t.Tf, _docs[doc].Length, avgLength);
                        }

                        t.Next();
                    }
                }

                if (!passes)
                {
                    continue;
                }

                // The words that no longer drive the scan: looked up in this document only while they can still lift it over the threshold.
                for (var i = firstEssential - 1; i >= 0 && score + bound[i] > threshold; i--)
                {
                    var t = terms[i];
                    t.SeekTo(doc);
                    if (t.Doc == doc)
                    {
                        score += t.Score(t.Tf, _docs[doc].Length, avgLength);
                    }
                }

                if (top.Count < k)
                {
                    top.Enqueue(doc, score);
                }
                else if (score > threshold)
                {
                    top.DequeueEnqueue(doc, score);
                }
                else
                {
                    continue;
                }

                if (top.Count == k)
                {
                    top.TryPeek(out _, out threshold);
                    while (firstEssential < terms.Length && bound[firstEssential] <= threshold)
                    {
                        firstEssential++;
                    }
                }
            }

            var result = new (long, string, double)[top.Count];
            for (var i = result.Length - 1; i >= 0; i--)
            {
                top.TryDequeue(out var doc, out var score);
                result[i] = (_docs[doc].RowId, _docs[doc].Key!, score);
            }

            return result;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>One query word's term: the postings of its one indexed form, or of all its forms merged (held under the read lock).</summary>
    private Term? TermFor(IReadOnlyList<string> forms)
    {
        Postings? single = null;
        List<Postings>? several = null;
        foreach (var form in forms.Distinct(StringComparer.Ordinal))
        {
            if (!_terms.TryGetValue(form, out var p) || p.Live == 0)
            {
                continue;
            }

            if (single is null)
            {
                single = p;
            }
            else
            {
                (several ??= [single]).Add(p);
            }
        }

        if (single is null)
        {
            return null;
        }

        if (several is null)
        {
            return new Term(single, null, Idf(_live, single.Live));
        }

        // The longest list (a common word's Porter stem) is walked as it is, beside one list of the other forms' documents
        // (rare: another language's stem, the word unstemmed), so a search never copies a common word's postings.
        var primary = several.MaxBy(p => p.Count)!;
        several.Remove(primary);
        var others = several.Count == 1 ? several[0] : Postings.Union(several);

        // n for BM25: the live documents holding any of the forms, each once.
        var live = primary.Live;
        var at = 0;
        for (var i = 0; i < others.Count; i++)
        {
            var doc = others.Docs[i];
            at = primary.Seek(doc, at);
            if ((at == primary.Count || primary.Docs[at] != doc) && _docs[doc].Key is not null)
            {
                live++;
            }
        }

        return live == 0 ? null : new Term(primary, others, Idf(_live, live));
    }

    /// <summary>FTS5's idf: <c>ln((N − n + 0.5) / (n + 0.5))</c>, and 1e-6 where that is not positive (words in over half the documents).</summary>
    public static double Idf(int documents, int withWord)
    {
        var idf = Math.Log((documents - withWord + 0.5) / (withWord + 0.5));
        return idf > 0 ? idf : 1e-6;
    }

    private bool Passes(int doc, VectorFilter filter)
    {
        ref readonly var d = ref _docs[doc];
        return d.Key is not null
            && d.CreatedMs >= filter.MinCreatedMs && d.CreatedMs <= filter.MaxCreatedMs
            && (filter.Source == -1 || d.Source == filter.Source)
            && (filter.Lang == -1 || d.Lang == filter.Lang)
            && (filter.AllowedRowIds is null || filter.AllowedRowIds.Contains(d.RowId));
    }

    private void Tombstone(int doc, RemovedText? removed)
    {
        _live--;
        _liveLength -= _docs[doc].Length;
        if (removed is not null && removed.Hash == _docs[doc].TextHash)
        {
            foreach (var word in removed.Words)
            {
                if (_terms.TryGetValue(word, out var postings))
                {
                    postings.Live--;
                }
            }
        }

        _docs[doc] = _docs[doc] with { Key = null };
    }

    /// <summary>Renumbers the live documents (in order) and drops tombstones from every postings list.</summary>
    private void Compact()
    {
        var map = new int[_count];
        var next = 0;
        for (var doc = 0; doc < _count; doc++)
        {
            if (_docs[doc].Key is { } key)
            {
                map[doc] = next;
                _docs[next] = _docs[doc];
                _docByKey[key] = next;
                next++;
            }
            else
            {
                map[doc] = -1;
            }
        }

        Array.Clear(_docs, next, _count - next);
        _count = next;
        foreach (var (word, postings) in _terms.ToArray())
        {
            if (postings.Remap(map) == 0)
            {
                _terms.Remove(word);
            }
        }
    }

    /// <summary>The words of a text being removed or replaced, found before the write lock; its hash says it is the text held, indexed the same way.</summary>
    private sealed record RemovedText(int Hash, string[] Words)
    {
        public static RemovedText? Of(string? text, string? lang) => text is null
            ? null
            : new(HashOf(text, lang), [.. KeywordTokens.Index(text, lang).Terms.Distinct(StringComparer.Ordinal)]);

        /// <summary>The text's hash with how its language is stemmed: the same text indexed another way holds other words.</summary>
        public static int HashOf(string text, string? lang) => HashCode.Combine(string.GetHashCode(text, StringComparison.Ordinal), KeywordTokens.SchemeOf(lang));
    }

    private readonly record struct Doc(string? Key, long RowId, long CreatedMs, short Source, short Lang, ushort Length, int TextHash);

    /// <summary>One word's documents (ascending) and how often it occurs in each.</summary>
    private sealed class Postings
    {
        public int[] Docs = new int[2];
        public byte[] Tf = new byte[2];
        public int Count;

        /// <summary>Live documents with the word (BM25's n); <see cref="Count"/> includes tombstones until compaction.</summary>
        public int Live;

        public void Add(int doc, byte tf)
        {
            if (Count == Docs.Length)
            {
                Array.Resize(ref Docs, Count * 2);
                Array.Resize(ref Tf, Count * 2);
            }

            Docs[Count] = doc;
            Tf[Count] = tf;
            Count++;
            Live++;
        }

        /// <summary>The first position at or after <paramref name="from"/> whose document is at least <paramref name="doc"/>: galloping, then binary search.</summary>
        public int Seek(int doc, int from)
        {
            if (from >= Count || Docs[from] >= doc)
            {
                return from;
            }

            var step = 1;
            var low = from;
            var high = from + step;
            while (high < Count && Docs[high] < doc)
            {
                low = high;
                step *= 2;
                high = from + step;
            }

            high = Math.Min(high, Count - 1);
            if (Docs[high] < doc)
            {
                return Count;
            }

            // Docs[low] < doc <= Docs[high]
            while (high - low > 1)
            {
                var mid = (low + high) >>> 1;
                if (Docs[mid] < doc)
                {
                    low = mid;
                }
                else
                {
                    high = mid;
                }
            }

            return high;
        }

        /// <summary>The documents of any of the lists, ascending, each once with the most occurrences of one form (two forms of one word are not two occurrences); a new list, for one search.</summary>
        public static Postings Union(List<Postings> lists)
        {
            var merged = new Postings { Docs = new int[lists.Sum(l => l.Count)], Tf = new byte[lists.Sum(l => l.Count)] };
            var at = new int[lists.Count];
            while (true)
            {
                var doc = int.MaxValue;
                for (var i = 0; i < lists.Count; i++)
                {
                    if (at[i] < lists[i].Count && lists[i].Docs[at[i]] < doc)
                    {
                        doc = lists[i].Docs[at[i]];
                    }
                }

                if (doc == int.MaxValue)
                {
                    break;
                }

                var tf = 0;
                for (var i = 0; i < lists.Count; i++)
                {
                    if (at[i] < lists[i].Count && lists[i].Docs[at[i]] == doc)
                    {
                        tf = Math.Max(tf, lists[i].Tf[at[i]]);
                        at[i]++;
                    }
                }

                merged.Docs[merged.Count] = doc;
                merged.Tf[merged.Count] = (byte)Math.Min(tf, byte.MaxValue);
                merged.Count++;
            }

            return merged;
        }

        /// <summary>Keeps the documents <paramref name="map"/> keeps, renumbered; returns how many are left.</summary>
        public int Remap(int[] map)
        {
            var kept = 0;
            for (var i = 0; i < Count; i++)
            {
                var doc = map[Docs[i]];
                if (doc >= 0)
                {
                    Docs[kept] = doc;
                    Tf[kept] = Tf[i];
                    kept++;
                }
            }

            Count = kept;
            Live = kept;
            if (kept < Docs.Length / 4)
            {
                Array.Resize(ref Docs, Math.Max(2, kept));
                Array.Resize(ref Tf, Math.Max(2, kept));
            }

            return kept;
        }
    }

    /// <summary>
    /// A query word: a cursor over its documents and its BM25 weight. The documents are those of one postings list, or of
    /// two walked together (a word's main form and its other forms); a document in both counts its larger occurrence
    /// count (two forms of one word are not two occurrences).
    /// </summary>
    private sealed class Term
    {
        private readonly Postings _main;
        private readonly Postings? _other;
        private readonly double _idf;
        private int _atMain;
        private int _atOther;

        public Term(Postings main, Postings? other, double idf)
        {
            _main = main;
            _other = other;
            _idf = idf;
            UpperBound = idf * (K1 + 1);
            Update();
        }

        /// <summary>The current document; <see cref="int.MaxValue"/> once every document was read.</summary>
        public int Doc { get; private set; }

        /// <summary>The word's occurrences in <see cref="Doc"/>.</summary>
        public byte Tf { get; private set; }

        /// <summary>The most one occurrence count can score: tf·(k1+1)/(tf+k1·norm) is below k1+1.</summary>
        public double UpperBound { get; }

        public double Score(byte tf, ushort length, double avgLength) =>
            _idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avgLength));

        /// <summary>Moves past <see cref="Doc"/>.</summary>
        public void Next()
        {
            var doc = Doc;
            if (_atMain < _main.Count && _main.Docs[_atMain] == doc)
            {
                _atMain++;
            }

            if (_other is not null && _atOther < _other.Count && _other.Docs[_atOther] == doc)
            {
                _atOther++;
            }

            Update();
        }

        /// <summary>Moves to the first document at or after <paramref name="doc"/>.</summary>
        public void SeekTo(int doc)
        {
            if (Doc >= doc)
            {
                return;
            }

            _atMain = _main.Seek(doc, _atMain);
            if (_other is not null)
            {
                _atOther = _other.Seek(doc, _atOther);
            }

            Update();
        }

        private void Update()
        {
            var main = _atMain < _main.Count ? _main.Docs[_atMain] : int.MaxValue;
            var other = _other is not null && _atOther < _other.Count ? _other.Docs[_atOther] : int.MaxValue;
            if (main == int.MaxValue && other == int.MaxValue)
            {
                (Doc, Tf) = (int.MaxValue, 0);
            }
            else if (main < other)
            {
                (Doc, Tf) = (main, _main.Tf[_atMain]);
            }
            else if (other < main)
            {
                (Doc, Tf) = (other, _other!.Tf[_atOther]);
            }
            else
            {
                (Doc, Tf) = (main, Math.Max(_main.Tf[_atMain], _other!.Tf[_atOther]));
            }
        }
    }
}
