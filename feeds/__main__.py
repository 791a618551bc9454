from feeds.cli import main

raise SystemExit(main())
