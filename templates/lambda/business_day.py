import os,datetime as D
from zoneinfo import ZoneInfo
import boto3
from boto3.dynamodb.conditions import Key
O=D.timedelta(days=1)
P=D.date.fromisoformat
def mlast(d):return(d.replace(day=28)+4*O).replace(day=1)-O
def days(a,b):
 while a<=b:yield a;a+=O
class Cal:
 # Open days from the holiday table (pk calendar, sk date); no calendar: always open.
 def __init__(s,c,a,b):
  s.c=c;s.r={}
  if not c:return
  t=boto3.resource('dynamodb').Table(os.environ['TABLE']);q={'KeyConditionExpression':Key('pk').eq(c)&Key('sk').between(str(a),str(b))}
  while 1:
   p=t.query(**q)
   for i in p['Items']:s.r[i['sk']]=i['open']
   if'LastEvaluatedKey'not in p:break
   q['ExclusiveStartKey']=p['LastEvaluatedKey']
 def op(s,d):
  if not s.c:return True
  v=s.r.get(str(d))
  if v is None:raise KeyError(f'calendar {s.c} has no day {d}: load its data file')
  return bool(v)
def cyc(d,n,y,m):
 # Every n-th month from y/m (none before).
 k=(d.year-y)*12+d.month-m;return k>=0 and k%n==0
def sel(c,R,d):
 k,*a=R['days'];i=str(d)
 if R.get('validFrom','')>i or i>R.get('validUntil','9')or not cyc(d,*R.get('months',(1,1,1))):return 0
 if k=='daily':return 1
 if k in('weekdays','days_of_month','dates'):return(d.weekday(),d.day,i)[('weekdays','days_of_month','dates').index(k)]in a[0]
 if k in('nth_open_day','nth_closed_day'):o=k[4]=='o';return c.op(d)==o and sum(c.op(x)==o for x in days(d.replace(day=1),d))==a[0]
 if k=='nth_last_open_day':return c.op(d)and sum(map(c.op,days(d,mlast(d))))==a[0]
 if k=='days_before_month_end':return(mlast(d)-d).days==a[0]
 if k=='nth_weekday':
  w,n=a;return d.weekday()==w and((d+7*O).month!=d.month if n<0 or n>4 else(d.day-1)//7+1==n)
 u,n,f=a;f=P(f)
 if u=='months':return cyc(d,n,f.year,f.month)and d.day==min(f.day,mlast(d).day)
 g=(d-f).days;return g>=0 and g%(n*(7 if u=='weeks'else 1))==0
def decide(c,R,d):
 """None: not selected; (date, why) a run; (None, why) a skip."""
 if not sel(c,R,d):return
 if'reckon'in R:
  n,m=R['reckon'];x=d
  for _ in range(m):
   x+=O*(1 if n>0 else-1)
   if c.op(x):
    n-=1 if n>0 else-1
    if not n:return x,'reckoned'
  return None,'reckon_exceeded'
 if c.op(d):return d,'open_day'
 a=R.get('onClosed','skip')
 if R['days'][0]=='nth_closed_day'or a=='run':return d,'closed_day'
 if a=='skip':return None,'closed_day'
 s=1 if a=='next'else-1
 for k in range(1,R.get('maxShift',2)+1):
  if c.op(d+k*s*O):return d+k*s*O,'shifted'
 return None,'shift_exceeded'
def reach(R):return max(R.get('maxShift',0),R.get('reckon',[0,0])[1])
def runs(cal,rules,t):
 m=max(map(reach,rules),default=0);c=Cal(cal,t-(m+40)*O,t+(m+40)*O);out=[]
 for i,R in enumerate(rules):
  for d in days(t-m*O,t+m*O):
   r=decide(c,R,d)
   if r and r[0]==t:out.append({'rule':i,'name':R.get('name'),'nominal':str(d),'reason':r[1]})
 return out
def tz(n):
 # Runtimes without tz data still know the fixed-offset zones.
 try:return ZoneInfo(n)
 except Exception:return D.timezone(D.timedelta(minutes={'Asia/Tokyo':540,'UTC':0}[n]))
def handler(e,_=None):
 """Is business date T a run day of these rules, and why (docs/calendars.md)."""
 if'nominal'in e:
  d=P(e['nominal']);m=max(map(reach,e['rules']))+40;c=Cal(e.get('calendar'),d-m*O,d+m*O)
  return{'decisions':[(lambda r:r and{'date':r[0]and str(r[0]),'reason':r[1]})(decide(c,R,d))for R in e['rules']]}
 if'businessDate'in e:t=P(e['businessDate'])
 # dayStart (minutes): an event's time before the day start belongs to the day before.
 else:t=(D.datetime.fromisoformat(e['scheduledTime'].replace('Z','+00:00')).astimezone(tz(e.get('timezone','Asia/Tokyo')))-D.timedelta(minutes=e.get('dayStart',0))).date()-e.get('dayOffset',0)*O
 r=runs(e.get('calendar'),e['rules'],t);x=[j['jobnet']for j in e.get('exclusive',[])if runs(j.get('calendar'),j['rules'],t)]
 # rule: the name of the first rule that runs, for delays per rule ('' without one).
 return{'businessDate':str(t),'run':bool(r)and not x,'rule':r and r[0]['name']or'','runs':r,'excludedBy':x}
